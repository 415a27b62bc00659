// JSON from untrusted bytes, with its nesting depth capped before parsing: a body nested 100k deep
// parses fine but overflows the stack of whatever walks it later (JSON.stringify, zod), so it is
// refused up front as invalid_json rather than ending as a 500.
import { GatewayError } from '../errors/catalogue.js';

export const maxJsonDepth = 64;

const openBrace = 0x7b;
const openBracket = 0x5b;
const closeBrace = 0x7d;
const closeBracket = 0x5d;
const quote = 0x22;
const backslash = 0x5c;

// One pass over the bytes, tracking only whether we are inside a string: structure characters
// inside strings do not count.
export function jsonDepthExceeds(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === backslash) i++;
      else if (b === quote) inString = false;
    } else if (b === quote) inString = true;
    else if (b === openBrace || b === openBracket) {
      if (++depth > limit) return true;
    } else if (b === closeBrace || b === closeBracket) depth--;
  }
  return false;
}

export function parseJsonBody(raw: Buffer, limit = maxJsonDepth): unknown {
  if (jsonDepthExceeds(raw, limit)) throw new GatewayError('invalid_json', `The request body nests deeper than ${limit} levels.`);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new GatewayError('invalid_json', `The request body is not valid JSON: ${(err as Error).message}`);
  }
}
