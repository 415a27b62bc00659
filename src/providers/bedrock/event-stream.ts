// The AWS event stream framing of ConverseStream answers (application/vnd.amazon.eventstream):
// binary messages, each led by its total length, with typed headers (:event-type names the event)
// and a JSON payload, both CRC-checked. The splitter cuts the byte stream into whole messages
// without copying more than one message at a time; the parser turns one into the {event, data}
// pair the usage readers take. Like the SSE splitter, what it holds is capped per message.
import { crc32 } from 'node:zlib';
import type { StreamFraming } from '../provider.js';
import { defaultMaxEventBytes, type SseEvent, type SseSplitter } from '../../proxy/sse.js';

// Total length, headers length and prelude CRC (4 bytes each), then the message CRC.
const preludeBytes = 12;
const minMessageBytes = preludeBytes + 4;
const noBytes = Buffer.alloc(0);

export function createEventStreamSplitter(maxMessageBytes = defaultMaxEventBytes): SseSplitter {
  // The open message: its pieces, their length, and its total length once its first 4 bytes are in.
  let pieces: Buffer[] = [];
  let pendingBytes = 0;
  let totalBytes = -1;
  // Bytes of an oversized message still to hand on unparsed; a length that cannot be a message
  // means the framing is lost, and everything after it is handed on unparsed.
  let skipBytes = 0;
  const flagged = new WeakSet<Buffer>();
  const handOn = (piece: Buffer, out: Buffer[]) => {
    flagged.add(piece);
    out.push(piece);
  };

  return {
    push(chunk) {
      const out: Buffer[] = [];
      let rest = chunk;
      while (rest.length > 0) {
        if (skipBytes > 0) {
          const piece = rest.subarray(0, skipBytes);
          skipBytes -= piece.length;
          rest = rest.subarray(piece.length);
          handOn(piece, out);
          continue;
        }
        const want = totalBytes === -1 ? 4 - pendingBytes : totalBytes - pendingBytes;
        const piece = rest.subarray(0, want);
        rest = rest.subarray(piece.length);
        pieces.push(piece);
        pendingBytes += piece.length;
        if (totalBytes === -1) {
          if (pendingBytes < 4) continue;
          totalBytes = (pieces[0]!.length >= 4 ? pieces[0]! : Buffer.concat(pieces)).readUInt32BE(0);
          if (totalBytes >= minMessageBytes && totalBytes <= maxMessageBytes) continue;
          skipBytes = totalBytes < minMessageBytes ? Infinity : totalBytes - pendingBytes;
          for (const kept of pieces) handOn(kept, out);
        } else if (pendingBytes < totalBytes) {
          continue;
        } else {
          out.push(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
        }
        pieces = [];
        pendingBytes = 0;
        totalBytes = -1;
      }
      return out;
    },
    isOversized: (raw) => flagged.has(raw),
    pending: () => (pieces.length === 0 ? noBytes : (pieces = [Buffer.concat(pieces)])[0]!),
  };
}

// Header value types (AWS event stream encoding) and the bytes each fixed-size one takes.
const stringType = 7;
const bytesType = 6;
const fixedBytes: Record<number, number> = { 0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16 };

// The string headers of a message's header section; undefined when it is malformed.
function stringHeaders(headers: Buffer): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let at = 0;
  while (at < headers.length) {
    const nameLength = headers[at]!;
    const name = headers.toString('utf8', at + 1, at + 1 + nameLength);
    at += 1 + nameLength;
    const type = headers[at++];
    if (type === stringType || type === bytesType) {
      if (at + 2 > headers.length) return undefined;
      const length = headers.readUInt16BE(at);
      if (type === stringType) out.set(name, headers.toString('utf8', at + 2, at + 2 + length));
      at += 2 + length;
    } else {
      const size = type === undefined ? undefined : fixedBytes[type];
      if (size === undefined) return undefined;
      at += size;
    }
  }
  return at === headers.length ? out : undefined;
}

// One whole message (as the splitter gives it) as an event named by its :event-type (an exception
// by its :exception-type). Both CRCs are checked with zlib's native CRC32 (the codec's own, in
// JavaScript, cost three times the SSE path per event in bench/bedrock.ts); a message that fails
// them, or whose headers do not parse, is no event at all.
export function parseEventStreamMessage(raw: Buffer): SseEvent {
  const none = { event: undefined, data: '' };
  if (raw.length < minMessageBytes || raw.readUInt32BE(0) !== raw.length) return none;
  const headersLength = raw.readUInt32BE(4);
  if (preludeBytes + headersLength + 4 > raw.length) return none;
  if (crc32(raw.subarray(0, 8)) !== raw.readUInt32BE(8) || crc32(raw.subarray(0, raw.length - 4)) !== raw.readUInt32BE(raw.length - 4)) return none;
  const headers = stringHeaders(raw.subarray(preludeBytes, preludeBytes + headersLength));
  if (!headers) return none;
  const event = headers.get(':message-type') === 'event' ? headers.get(':event-type') : headers.get(':exception-type');
  return { event, data: raw.toString('utf8', preludeBytes + headersLength, raw.length - 4) };
}

export const eventStreamFraming: StreamFraming = {
  mediaType: 'application/vnd.amazon.eventstream',
  createSplitter: () => createEventStreamSplitter(),
  parse: parseEventStreamMessage,
};
