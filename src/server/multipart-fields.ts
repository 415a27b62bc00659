// Reads a multipart/form-data upload (image edits and variations, audio transcriptions) with a
// streaming parser and hard limits, keeping the client's raw bytes to forward untouched. Only the
// named text fields are read (what pricing needs: model, n, size, ...); file parts are never
// copied out, only measured, plus the first bytes of each for a cheap header look (WAV duration).
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { GatewayError } from '../errors/catalogue.js';

export interface MultipartLimits {
  // The whole body, file parts included.
  readonly maxBytes: number;
  // Parts of any kind: a body of thousands of tiny parts is refused rather than parsed.
  readonly maxParts: number;
  // The text fields that are kept; any other text field is skipped.
  readonly fields: ReadonlySet<string>;
}

export interface FilePart {
  readonly field: string;
  readonly bytes: number;
  // Up to headBytes of the file's start.
  readonly head: Buffer;
}

export interface MultipartBody {
  readonly raw: Buffer;
  readonly fields: Readonly<Record<string, string>>;
  readonly files: readonly FilePart[];
}

const headBytes = 64;
// Pricing fields are short words and numbers; a prompt (read for its length) is larger.
const maxFieldBytes = 64 * 1024;

const invalid = (why: string) => new GatewayError('invalid_request', `The multipart body could not be read: ${why}.`);
const tooLarge = (maxBytes: number) => new GatewayError('body_too_large', `The upload is larger than the ${maxBytes}-byte limit.`);

export const isMultipart = (req: IncomingMessage): boolean => /^multipart\/form-data\s*;/i.test(req.headers['content-type'] ?? '');

export function readMultipart(req: IncomingMessage, limits: MultipartLimits): Promise<MultipartBody> {
  const declared = Number(req.headers['content-length']);
  if (declared > limits.maxBytes) return Promise.reject(tooLarge(limits.maxBytes));
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: { parts: limits.maxParts, fieldSize: maxFieldBytes, fieldNameSize: 200, headerPairs: 200 },
    });
  } catch {
    return Promise.reject(invalid('the content-type names no boundary'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const fields: Record<string, string> = {};
    const files: FilePart[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: GatewayError) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      req.off('data', keep);
      // The rest of the body is left unread; sendError closes the connection on body_too_large.
      req.resume();
      reject(error);
    };
    const keep = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) fail(tooLarge(limits.maxBytes));
      else chunks.push(chunk);
    };
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(invalid(`the field "${name}" is longer than ${maxFieldBytes} bytes`));
      else if (limits.fields.has(name) && !(name in fields)) fields[name] = value;
    });
    parser.on('file', (name, stream) => {
      let bytes = 0;
      const head: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        if (bytes < headBytes) head.push(chunk.subarray(0, headBytes - bytes));
        bytes += chunk.length;
      });
      stream.on('end', () => files.push({ field: name, bytes, head: Buffer.concat(head) }));
      // A body cut short inside a file fails the part's stream as well as the parser: the parser's
      // error answers the client, and an unheard stream error would take the process down.
      stream.on('error', () => {});
    });
    parser.on('partsLimit', () => fail(invalid(`more than ${limits.maxParts} parts`)));
    parser.on('error', (err: Error) => fail(invalid(err.message)));
    parser.on('close', () => {
      if (!failed) resolve({ raw: Buffer.concat(chunks, size), fields, files });
    });
    req.on('data', keep);
    req.once('error', (err) => {
      if (!failed) {
        failed = true;
        reject(err);
      }
    });
    req.pipe(parser);
  });
}
