// Finding 6 (stream half): one enormous SSE event, sent in small chunks, must not make the splitter
// re-copy everything pending on every chunk (quadratic: 5 s of CPU for 16 MB, /health stalled),
// nor be held in memory whole: past the per-event cap its bytes pass through, flagged, unkept.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { createSseSplitter, defaultMaxEventBytes } from '../../src/proxy/sse.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const chunkBytes = 16 * 1024;
const totalBytes = 16 * 1024 * 1024;

function chunksOf(stream: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += chunkBytes) chunks.push(stream.subarray(at, at + chunkBytes));
  return chunks;
}

// One event: a single data line of 16 MB, then the blank line.
const hugeEvent = Buffer.concat([Buffer.from('data: "'), Buffer.alloc(totalBytes, 'x'), Buffer.from('"\n\n')]);
// The same bytes as ordinary small events (about 1 KB each).
const smallEvent = Buffer.from(`data: "${'x'.repeat(1_000)}"\n\n`);
const smallEvents = Buffer.concat(Array.from({ length: Math.ceil(hugeEvent.length / smallEvent.length) }, () => smallEvent));

function split(stream: Buffer) {
  const splitter = createSseSplitter();
  const out: Buffer[] = [];
  let maxPending = 0;
  const started = performance.now();
  for (const chunk of chunksOf(stream)) {
    for (const raw of splitter.push(chunk)) out.push(raw);
    maxPending = Math.max(maxPending, splitter.pending().length);
  }
  return { ms: performance.now() - started, out, maxPending, splitter };
}

describe('one 16 MB SSE event cannot make the splitter quadratic or hold it whole', () => {
  it('splits a 16 MB event in 16 KB chunks in time linear in its size', () => {
    const baseline = split(smallEvents);
    const huge = split(hugeEvent);
    // Copying what is pending on every chunk costs ~1000 x 8 MB here (5 s of CPU); linear work is
    // a few ms, and a loaded 2-core machine stretched it past 250 ms once: the floor is 1 s.
    expect(huge.ms).toBeLessThan(Math.max(4 * baseline.ms, 1_000));
  });

  it('passes an event past the cap through in order, flagged and not retained', () => {
    const { out, maxPending, splitter } = split(Buffer.concat([smallEvent, hugeEvent, smallEvent]));
    expect(maxPending).toBeLessThanOrEqual(defaultMaxEventBytes);
    // Every byte comes out once and in order, so a relay writing what it gets loses nothing.
    expect(Buffer.concat(out).equals(Buffer.concat([smallEvent, hugeEvent, smallEvent]))).toBe(true);
    // The small events come out whole and parseable; the big one only as flagged pieces.
    expect(out[0]!.equals(smallEvent)).toBe(true);
    expect(out.at(-1)!.equals(smallEvent)).toBe(true);
    expect(splitter.isOversized(out[0]!)).toBe(false);
    expect(out.slice(1, -1).every((piece) => splitter.isOversized(piece) && piece.length <= defaultMaxEventBytes + chunkBytes)).toBe(true);
    expect(splitter.pending().length).toBe(0);
  });

  it('honours a smaller cap given by the caller', () => {
    const splitter = createSseSplitter({ maxEventBytes: 64 });
    const big = Buffer.from(`data: ${'y'.repeat(100)}\n\n`);
    // 50 bytes fit; 80 do not, so the event is handed on from there.
    const pieces = [...splitter.push(big.subarray(0, 50)), ...splitter.push(big.subarray(50, 80)), ...splitter.push(big.subarray(80))];
    expect(pieces).toHaveLength(3);
    expect(pieces.every((piece) => splitter.isOversized(piece))).toBe(true);
    expect(Buffer.concat(pieces).equals(big)).toBe(true);
    expect(splitter.push(Buffer.from('data: ok\n\n')).map(String)).toEqual(['data: ok\n\n']);
  });
});

describe('how the bytes are cut does not change the events', () => {
  it('gives the same events for any slicing of a stream, and loses no byte', async () => {
    const fc = (await import('fast-check')).default;
    const event = fc
      .tuple(fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '')), fc.constantFrom('\n\n', '\r\n\r\n', '\n\r\n', '\r\r'))
      .map(([data, end]) => `data: ${data}${end}`);
    fc.assert(
      fc.property(fc.array(event, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1 }), (events, cuts) => {
        const stream = Buffer.from(events.join(''));
        const whole = createSseSplitter().push(stream).map(String);
        const splitter = createSseSplitter();
        const out: string[] = [];
        for (let at = 0, i = 0; at < stream.length; i++) {
          const size = cuts[i % cuts.length]!;
          for (const raw of splitter.push(stream.subarray(at, at + size))) out.push(String(raw));
          at += size;
        }
        expect(out).toEqual(whole);
        expect(out.join('') + String(splitter.pending())).toBe(String(stream));
      }),
      { numRuns: 300, seed: 6 },
    );
  });
});

describe('a 16 MB event through the gateway does not stall it', () => {
  // A real upstream on port 0 that answers every chat request with one 16 MB delta event.
  const content = Buffer.concat([Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"'), Buffer.alloc(totalBytes, 'x'), Buffer.from('"}}]}\n\n')]);
  const done = Buffer.from('data: [DONE]\n\n');
  let upstream: Server;
  let mock: MockUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', async () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const chunk of chunksOf(body.includes('warm up') ? smallEvent : content)) {
          if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end(done);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    mock = await startMockUpstream();
    const { port } = upstream.address() as AddressInfo;
    gw = await startTestGateway({ mock, env: { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` } });
  });
  afterAll(async () => {
    await gw?.close();
    await mock?.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  const chat = (content: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content }] }),
    });

  it('relays every byte while /health keeps answering', async () => {
    // The first request pays one-off costs (lazy loads, the embedded database warming up).
    await (await chat('warm up')).arrayBuffer();
    let streaming = true;
    const healthMs: number[] = [];
    const probe = (async () => {
      while (streaming) {
        const started = performance.now();
        await (await fetch(`${gw.url}/health`)).arrayBuffer();
        healthMs.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const res = await chat('hi');
    const received = Buffer.from(await res.arrayBuffer());
    streaming = false;
    await probe;
    expect(res.status).toBe(200);
    expect(received.equals(Buffer.concat([content, done]))).toBe(true);
    // The review saw /health stall 2.3 s while the splitter re-copied the pending event.
    expect(Math.max(...healthMs)).toBeLessThan(1_000);
  }, 60_000);
});
