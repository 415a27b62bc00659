// Incremental Server-Sent Events framing on raw bytes. The relay writes upstream bytes untouched;
// this splitter only finds where each event ends, so parsers and the usage-chunk filter can look
// at whole events without re-encoding anything. Its work is linear in the bytes pushed and what it
// holds is capped per event, so one enormous event can neither burn CPU nor pin memory.

export interface SseEvent {
  readonly event: string | undefined;
  readonly data: string;
}

const LF = 0x0a;
const CR = 0x0d;

// Finds where events end in one buffer, left to right: each call gives the index just past the
// first blank line (event terminator) at or after `from`, or -1. Bare-CR line endings are legal
// SSE but rare; the position of the next CR CR is remembered so each byte is scanned once.
function endFinder(buf: Buffer): (from: number) => number {
  let crcr = -2;
  return (from) => {
    if (crcr !== -1 && crcr < from) crcr = buf.indexOf('\r\r', from);
    const limit = crcr === -1 ? buf.length : crcr;
    for (let i = buf.indexOf(LF, from); i !== -1 && i < limit; i = buf.indexOf(LF, i + 1)) {
      if (buf[i + 1] === LF) return i + 2;
      if (buf[i + 1] === CR && buf[i + 2] === LF) return i + 3;
    }
    return crcr === -1 ? -1 : crcr + 2;
  };
}

export interface SseSplitterOptions {
  // An event that grows past this many bytes before it ends is not kept whole: see push().
  readonly maxEventBytes?: number;
}

// Usage sits in small events; the largest legitimate ones (a Responses API terminal event echoing
// the whole output) stay well under this. It bounds what one stream holds while an event is open.
export const defaultMaxEventBytes = 1024 * 1024;

export interface SseSplitter {
  // Returns, in stream order, the complete raw events this chunk finished (each ends with its
  // blank line) and the pieces of any event past maxEventBytes, which are handed on as they come
  // instead of being kept: writing everything returned reproduces the stream byte for byte.
  push(chunk: Buffer): Buffer[];
  // True for a piece of an over-long event: pass it on, but it is not a whole event to parse.
  isOversized(raw: Buffer): boolean;
  // Bytes of an event that has started but not ended (never more than maxEventBytes).
  pending(): Buffer;
}

const noBytes = Buffer.alloc(0);

// Linear in the bytes pushed: each chunk is scanned once (with the two bytes before it, where a
// terminator may start), and an event's pieces are joined once, when it ends.
export function createSseSplitter(options: SseSplitterOptions = {}): SseSplitter {
  const maxEventBytes = options.maxEventBytes ?? defaultMaxEventBytes;
  if (!Number.isInteger(maxEventBytes) || maxEventBytes < 1) throw new TypeError(`maxEventBytes must be a positive integer, got ${maxEventBytes}`);
  // The open event: kept pieces while it fits, or nothing once it is oversized.
  let pieces: Buffer[] = [];
  let pendingBytes = 0;
  let oversized = false;
  // Up to the last two bytes of the open event, so a terminator split across chunks is found.
  let tail: Buffer = noBytes;
  const flagged = new WeakSet<Buffer>();

  const handOn = (piece: Buffer, out: Buffer[]) => {
    if (piece.length === 0) return;
    flagged.add(piece);
    out.push(piece);
  };
  const closeEvent = (last: Buffer, out: Buffer[]) => {
    if (oversized) handOn(last, out);
    else out.push(pieces.length === 0 ? last : Buffer.concat([...pieces, last]));
    pieces = [];
    pendingBytes = 0;
    oversized = false;
    tail = noBytes;
  };

  return {
    push(chunk) {
      const out: Buffer[] = [];
      const window = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
      const shift = tail.length;
      let start = 0;
      const eventEnd = endFinder(window);
      for (let end = eventEnd(0); end !== -1; end = eventEnd(start + shift)) {
        closeEvent(chunk.subarray(start, end - shift), out);
        start = end - shift;
      }
      const rest = chunk.subarray(start);
      if (rest.length === 0) return out;
      // Copied, so the tail does not keep a whole chunk alive.
      const before = start === 0 ? tail : noBytes;
      tail = rest.length >= 2 ? Buffer.from(rest.subarray(rest.length - 2)) : Buffer.concat([before.subarray(Math.max(0, before.length - 1)), rest]);
      if (oversized) {
        handOn(rest, out);
      } else if (pendingBytes + rest.length > maxEventBytes) {
        oversized = true;
        for (const piece of pieces) handOn(piece, out);
        handOn(rest, out);
        pieces = [];
        pendingBytes = 0;
      } else {
        pieces.push(rest);
        pendingBytes += rest.length;
      }
      return out;
    },
    isOversized: (raw) => flagged.has(raw),
    pending: () => (pieces.length === 0 ? noBytes : (pieces = [Buffer.concat(pieces)])[0]!),
  };
}

// Parses one complete raw event into its `event:` name and joined `data:` lines.
export function parseSseEvent(raw: Buffer): SseEvent {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of raw.toString('utf8').split(/\r\n|\r|\n/)) {
    if (line.startsWith('data:')) data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
    else if (line.startsWith('event:')) event = line.slice(line.charCodeAt(6) === 32 ? 7 : 6);
  }
  return { event, data: data.join('\n') };
}
