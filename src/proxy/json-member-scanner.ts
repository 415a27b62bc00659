// Finds one top-level member of a JSON object fed in chunks, without keeping the document: how the
// usage of a non-streamed answer too large to keep (OpenAI and Anthropic put it last) is still
// read. Only the member's value is kept, up to a bound; strings are skipped with indexOf, so the
// scan is linear and cheap per byte. Model text cannot forge the member: depth and string state
// are tracked from the first byte, so a quoted `"usage":{…}` inside content is never taken.

const quote = 0x22;
const backslash = 0x5c;
const colon = 0x3a;
const comma = 0x2c;
const isWhitespace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

export interface MemberScanner {
  push(chunk: Buffer): void;
  // The member's value parsed, or undefined when absent, unparsable or larger than the bound.
  value(): unknown;
}

export function createMemberScanner(name: string, maxValueBytes = 64 * 1024): MemberScanner {
  const key = Buffer.from(JSON.stringify(name));
  let depth = 0;
  let inString = false;
  let escaped = false;
  // Bytes of the depth-1 string being read, while it can still equal the key (quotes included).
  let keyMatch = 0;
  let candidate = false;
  // 'key': the last depth-1 string was the key; ':' next starts its value.
  let state: 'scan' | 'key' | 'value-start' | 'value' = 'scan';
  let parts: Buffer[] = [];
  let partBytes = 0;
  let tooLarge = false;
  let found: Buffer | undefined;

  const keep = (part: Buffer) => {
    partBytes += part.length;
    if (partBytes > maxValueBytes) tooLarge = true;
    else parts.push(part);
  };

  const endValue = () => {
    found = tooLarge ? undefined : Buffer.concat(parts);
    parts = [];
    partBytes = 0;
    tooLarge = false;
    state = 'scan';
  };

  return {
    push(chunk) {
      let valueFrom = state === 'value' ? 0 : -1;
      for (let i = 0; i < chunk.length; i++) {
        if (inString) {
          if (escaped) {
            escaped = false;
            keyMatch = -1;
            continue;
          }
          if (!candidate || keyMatch < 0) {
            // Jump to the next quote or backslash: string bodies are most of an answer's bytes.
            const q = chunk.indexOf(quote, i);
            const b = chunk.indexOf(backslash, i);
            const next = q === -1 ? b : b === -1 ? q : Math.min(q, b);
            if (next === -1) break;
            i = next;
          }
          const byte = chunk[i]!;
          if (candidate && keyMatch >= 0) keyMatch = keyMatch < key.length && key[keyMatch] === byte ? keyMatch + 1 : -1;
          if (byte === backslash) escaped = true;
          else if (byte === quote) {
            inString = false;
            if (candidate && keyMatch === key.length) state = 'key';
            candidate = false;
          }
          continue;
        }
        const byte = chunk[i]!;
        if (isWhitespace(byte)) continue;
        if (state === 'key') {
          state = byte === colon ? 'value-start' : 'scan';
          continue;
        }
        if (state === 'value-start') {
          state = 'value';
          valueFrom = i;
        }
        if (state === 'value' && depth === 1 && (byte === comma || byte === 0x7d)) {
          keep(chunk.subarray(valueFrom, i));
          valueFrom = -1;
          endValue();
        }
        if (byte === quote) {
          inString = true;
          candidate = depth === 1 && state === 'scan';
          keyMatch = candidate ? 1 : -1;
        } else if (byte === 0x7b || byte === 0x5b) depth++;
        else if (byte === 0x7d || byte === 0x5d) depth--;
      }
      if (state === 'value' && valueFrom >= 0) keep(chunk.subarray(valueFrom));
    },
    value() {
      if (!found) return undefined;
      try {
        return JSON.parse(found.toString('utf8'));
      } catch {
        return undefined;
      }
    },
  };
}
