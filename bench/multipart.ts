// Multipart upload reading on the media routes: `node --import ./bin/typescript.js bench/multipart.ts`.
// Prints the time to read a transcription upload (1 MB and 25 MB of audio) with readMultipart
// (busboy over the body, raw bytes kept for forwarding) against readBody (the JSON routes' plain
// bounded read of the same bytes) as the baseline, over a local HTTP server, as a ratio.
import { createServer, type IncomingMessage } from 'node:http';
import { request } from 'undici';
import { readMultipart } from '../src/server/multipart-fields.js';
import { readBody } from '../src/server/read-body.js';
import { silentWav } from './mock-upstream-media.js';

// As long as the boundaries undici's FormData (under the openai SDK) writes: the parser's skip
// distance grows with it.
const boundary = '----formdata-undici-047813563146';
const uploadOf = (audioBytes: number): Buffer =>
  Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.wav"\r\ncontent-type: audio/wav\r\n\r\n`),
    silentWav(audioBytes / 8000),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);

const limits = { maxBytes: 26 * 1024 * 1024, maxParts: 40, fields: new Set(['model', 'prompt']) };
let mode: 'multipart' | 'plain' = 'plain';
const server = createServer((req: IncomingMessage, res) => {
  const started = performance.now();
  const read = mode === 'multipart' ? readMultipart(req, limits).then((b) => b.raw.length) : readBody(req, limits.maxBytes).then((b) => b.length);
  read.then(
    (bytes) => res.end(JSON.stringify({ bytes, ms: performance.now() - started })),
    (err: Error) => {
      res.statusCode = 500;
      res.end(err.message);
    },
  );
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;

async function readMs(body: Buffer): Promise<number> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
  const answer = (await res.body.json()) as { bytes: number; ms: number };
  if (answer.bytes !== body.length) throw new Error(`read ${answer.bytes} of ${body.length} bytes`);
  return answer.ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Interleaved, after a warm-up of each, so load on a shared machine hits both alike.
for (const [label, size, runs] of [['1 MB', 1_000_000, 40], ['25 MB', 25_000_000, 10]] as const) {
  const body = uploadOf(size);
  const plain: number[] = [];
  const multipart: number[] = [];
  for (let i = -1; i < runs; i++) {
    mode = 'plain';
    const p = await readMs(body);
    mode = 'multipart';
    const m = await readMs(body);
    if (i >= 0) {
      plain.push(p);
      multipart.push(m);
    }
  }
  const [p, m] = [median(plain), median(multipart)];
  process.stdout.write(`${label} upload: readBody ${p.toFixed(1)} ms, readMultipart ${m.toFixed(1)} ms (${(m / p).toFixed(2)}x the plain read, ${(body.length / 1e6 / (m / 1000)).toFixed(0)} MB/s)\n`);
}
server.close();
