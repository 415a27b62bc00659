// The AWS event stream framing of ConverseStream answers (application/vnd.amazon.eventstream):
// binary messages, each led by its total length, with typed headers (:event-type names the event)
// and a JSON payload, both CRC-checked. The splitter cuts the byte stream into whole messages
// without copying more than one message at a time; the parser turns one into the {event, data}
// pair the usage readers take. Like the SSE splitter, what it holds is capped per message.
import { EventStreamCodec } from '@smithy/eventstream-codec';
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
          totalBytes = Buffer.concat(pieces).readUInt32BE(0);
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

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);

const headerText = (headers: Record<string, { value: unknown }>, name: string): string | undefined => {
  const value = headers[name]?.value;
  return typeof value === 'string' ? value : undefined;
};

// One whole message as an event named by its :event-type (an exception by its :exception-type);
// a message that fails its CRC checks is no event at all.
export function parseEventStreamMessage(raw: Buffer): SseEvent {
  try {
    const { headers, body } = codec.decode(raw);
    const event = headerText(headers, ':message-type') === 'event' ? headerText(headers, ':event-type') : headerText(headers, ':exception-type');
    return { event, data: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') };
  } catch {
    return { event: undefined, data: '' };
  }
}

export const eventStreamFraming: StreamFraming = {
  mediaType: 'application/vnd.amazon.eventstream',
  createSplitter: () => createEventStreamSplitter(),
  parse: parseEventStreamMessage,
};
