// Bedrock's costs on the gateway's own thread, each against a baseline measured in the same run:
// - reading a ConverseStream's usage (binary event-stream framing: split by length prefix,
//   CRC-checked decode, usage reader) against reading the same answer as OpenAI SSE (SSE splitter,
//   event parse, OpenAI usage reader), in 1,400-byte chunks as TCP delivers them;
// - signing one upstream request with SigV4 against JSON-parsing its body (work every metered
//   request already does).
// Runs are interleaved so machine noise hits both sides; figures are CPU per unit of work.
// Run: node --import ./bin/typescript.js bench/bedrock.ts
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { providerSchema } from '../src/config/schema.js';
import { createEventStreamSplitter, parseEventStreamMessage } from '../src/providers/bedrock/event-stream.js';
import { bedrock } from '../src/providers/bedrock/index.js';
import { sign } from '../src/providers/bedrock/sign.js';
import { openai } from '../src/providers/openai/index.js';
import { createSseSplitter, parseSseEvent } from '../src/proxy/sse.js';

const deltas = 2_000;
const codec = new EventStreamCodec((b) => Buffer.from(b).toString('utf8'), (s) => Buffer.from(s, 'utf8'));
const frame = (type: string, payload: unknown) =>
  Buffer.from(codec.encode({ headers: { ':event-type': { type: 'string', value: type }, ':content-type': { type: 'string', value: 'application/json' }, ':message-type': { type: 'string', value: 'event' } }, body: Buffer.from(JSON.stringify(payload)) }));

const eventStream = Buffer.concat([
  frame('messageStart', { role: 'assistant', p: 'abcdefgh' }),
  ...Array.from({ length: deltas }, (_, i) => frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: `token${i} ` }, p: 'abcdefghijklmnop' })),
  frame('contentBlockStop', { contentBlockIndex: 0 }),
  frame('messageStop', { stopReason: 'end_turn' }),
  frame('metadata', { usage: { inputTokens: 120, outputTokens: deltas, totalTokens: 120 + deltas }, metrics: { latencyMs: 900 } }),
]);
const sse = Buffer.from(
  [
    ...Array.from({ length: deltas }, (_, i) => `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: `token${i} ` }, finish_reason: null }] })}\n\n`),
    `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 120, completion_tokens: deltas, total_tokens: 120 + deltas } })}\n\n`,
    'data: [DONE]\n\n',
  ].join(''),
);

const chunks = (bytes: Buffer) => Array.from({ length: Math.ceil(bytes.length / 1400) }, (_, i) => bytes.subarray(i * 1400, (i + 1) * 1400));
const eventChunks = chunks(eventStream);
const sseChunks = chunks(sse);

function readBedrock(): number {
  const splitter = createEventStreamSplitter();
  const reader = bedrock.streamUsageReader('converseStream');
  for (const chunk of eventChunks) for (const raw of splitter.push(chunk)) reader.onEvent(parseEventStreamMessage(raw));
  return reader.usage()!.completionTokens;
}

function readOpenai(): number {
  const splitter = createSseSplitter();
  const reader = openai.streamUsageReader('chat');
  for (const chunk of sseChunks) for (const raw of splitter.push(chunk)) reader.onEvent(parseSseEvent(raw));
  return reader.usage()!.completionTokens;
}

// CPU microseconds per call, over `rounds` calls.
function cpuMicros(fn: () => unknown, rounds: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < rounds; i++) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / rounds;
}

async function cpuMicrosAsync(fn: () => Promise<unknown>, rounds: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < rounds; i++) await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / rounds;
}

process.env.AWS_ACCESS_KEY_ID ??= 'AKIABENCH';
process.env.AWS_SECRET_ACCESS_KEY ??= 'bench-secret';
const config = providerSchema.parse({ kind: 'bedrock', baseUrl: 'https://bedrock-runtime.us-east-1.amazonaws.com' });
const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'x'.repeat(4_000) }] }], inferenceConfig: { maxTokens: 512 } });
const path = '/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse';
const signOnce = () => sign(config, { path, headers: { 'content-type': 'application/json', 'accept-encoding': 'identity' }, body });
const parseOnce = () => JSON.parse(body) as unknown;

if (readBedrock() !== deltas || readOpenai() !== deltas) throw new Error('the readers disagree with the stream');
await signOnce();
const streams = { bedrock: [] as number[], openai: [] as number[] };
const requests = { sign: [] as number[], parse: [] as number[] };
for (let run = 0; run < 5; run++) {
  streams.bedrock.push(cpuMicros(readBedrock, 50));
  streams.openai.push(cpuMicros(readOpenai, 50));
  requests.sign.push(await cpuMicrosAsync(signOnce, 2_000));
  requests.parse.push(cpuMicros(parseOnce, 2_000));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (bytes: number, micros: number) => (bytes / micros).toFixed(1);
const b = median(streams.bedrock);
const o = median(streams.openai);
process.stdout.write(
  `stream usage, ${deltas} deltas: Bedrock event stream ${(b / 1000).toFixed(2)} ms CPU (${eventStream.length} B, ${mb(eventStream.length, b)} MB/s), ` +
    `OpenAI SSE ${(o / 1000).toFixed(2)} ms CPU (${sse.length} B, ${mb(sse.length, o)} MB/s); per delta ${(b / o).toFixed(2)}x the SSE baseline\n`,
);
const s = median(requests.sign);
const p = median(requests.parse);
process.stdout.write(`SigV4 signing of a ${body.length} B request: ${s.toFixed(1)} µs CPU, ${(s / p).toFixed(1)}x JSON-parsing its body (${p.toFixed(1)} µs)\n`);
