// Incremental Server-Sent Events framing on raw bytes. The relay writes upstream bytes untouched;
// this splitter only finds where each event ends, so parsers and the usage-chunk filter can look
// at whole events without re-encoding anything.

export interface SseEvent {
  readonly event: string | undefined;
  readonly data: string;
}

const LF = 0x0a;
const CR = 0x0d;

// Index just past the first blank line (event terminator) at or after `from`, or -1.
function eventEnd(buf: Buffer, from: number): number {
  for (let i = buf.indexOf(LF, from); i !== -1; i = buf.indexOf(LF, i + 1)) {
    if (buf[i + 1] === LF) return i + 2;
    if (buf[i + 1] === CR && buf[i + 2] === LF) return i + 3;
    if (i + 1 >= buf.length) return -1;
  }
  // A stream using bare CR line endings is legal SSE but rare; fall back to a CR CR scan.
  const crcr = buf.indexOf('\r\r', from);
  return crcr === -1 ? -1 : crcr + 2;
}

export interface SseSplitter {
  // Returns the complete raw events this chunk finished (each ends with its blank line).
  push(chunk: Buffer): Buffer[];
  // Bytes of an event that has started but not ended.
  pending(): Buffer;
}

export function createSseSplitter(): SseSplitter {
  let rest: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      const buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      const events: Buffer[] = [];
      let start = 0;
      // Resume scanning a little before the old boundary so a terminator split across chunks is found.
      let from = Math.max(0, rest.length - 3);
      for (let end = eventEnd(buf, from); end !== -1; end = eventEnd(buf, from)) {
        events.push(buf.subarray(start, end));
        start = end;
        from = end;
      }
      rest = start === buf.length ? Buffer.alloc(0) : buf.subarray(start);
      return events;
    },
    pending: () => rest,
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
