// Token-counting benchmark: `node --import ./bin/typescript.js bench/tokens.ts`. Prints
//   1. inline vs pool throughput on 1 KB, 100 KB and 1 MB prompts,
//   2. the crossover that sets the inline threshold (inline cost by size vs a pool round trip),
//   3. the latency counting adds to a small chat request,
//   4. gpt-tokenizer against @dqbd/tiktoken (the reference): speed and agreement,
//   5. text without spaces, where merging used to be quadratic, against tiktoken as the baseline.
import { get_encoding } from '@dqbd/tiktoken';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { loadConfig } from '../src/config/load.js';
import { countTextTokens } from '../src/tokens/count-text.js';
import { getEncoder, type TextEncoding } from '../src/tokens/encoders.js';
import { createTokenizerPool } from '../src/tokens/pool.js';
import { createPromptCounter, defaultInlineMaxChars } from '../src/tokens/prompt-counter.js';

// Real prose with some code: gpt-tokenizer's own README, repeated to size.
const prose = readFileSync(join(dirname(import.meta.dirname), 'node_modules/gpt-tokenizer/README.md'), 'utf8');
const textOf = (chars: number): string => prose.repeat(Math.ceil(chars / prose.length)).slice(0, chars);

function timeUs(fn: () => unknown, minMs = 300): number {
  fn();
  let runs = 0;
  const started = performance.now();
  while (performance.now() - started < minMs) {
    fn();
    runs += 1;
  }
  return ((performance.now() - started) * 1000) / runs;
}

async function timeAsyncUs(fn: () => Promise<unknown>, runs: number): Promise<number[]> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    samples.push((performance.now() - started) * 1000);
  }
  return samples.sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const fmt = (n: number, digits = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const encoding: TextEncoding = 'o200k_base';
getEncoder(encoding);
const threads = Math.max(1, availableParallelism() - 1);
const pool = createTokenizerPool({ maxThreads: threads, maxQueue: 64 });

// 1. Throughput.
console.log(`\n1. Throughput, ${encoding}, pool of ${threads} thread(s) (${availableParallelism()} cores)`);
const sizes = [
  ['1 KB', 1024],
  ['100 KB', 100 * 1024],
  ['1 MB', 1024 * 1024],
] as const;
const throughputRows = [];
for (const [label, chars] of sizes) {
  const text = textOf(chars);
  const tokens = countTextTokens(text, encoding);
  const inlineUs = timeUs(() => countTextTokens(text, encoding));
  const poolLatency = await timeAsyncUs(() => pool.countTexts([text], encoding), chars > 100_000 ? 10 : 200);
  const batch = threads * 4;
  const started = performance.now();
  await Promise.all(Array.from({ length: batch }, () => pool.countTexts([text], encoding)));
  const poolBatchMs = performance.now() - started;
  throughputRows.push({
    prompt: label,
    tokens,
    'inline µs': fmt(inlineUs, 0),
    'inline Mtok/s': fmt(tokens / inlineUs, 2),
    'pool p50 µs (one at a time)': fmt(percentile(poolLatency, 50), 0),
    'pool Mtok/s (all threads busy)': fmt((tokens * batch) / (poolBatchMs * 1000), 2),
  });
}
console.table(throughputRows);

// 2. Crossover: below the threshold inline is cheaper than a worker round trip.
console.log('\n2. Inline cost by prompt size against a pool round trip (sets the inline threshold)');
const roundTrip = await timeAsyncUs(() => pool.countTexts(['hi'], encoding), 2000);
const crossoverRows = [];
for (const chars of [256, 1024, 4096, 8192, 16384, 32768, 65536]) {
  const text = textOf(chars);
  crossoverRows.push({ chars, 'inline µs (blocks the event loop)': fmt(timeUs(() => countTextTokens(text, encoding), 200), 1) });
}
console.table(crossoverRows);
console.log(`pool round trip for a 2-char text: p50 ${fmt(percentile(roundTrip, 50))} µs, p99 ${fmt(percentile(roundTrip, 99))} µs; default inlineMaxChars = ${defaultInlineMaxChars}`);

// 3. Latency added to a small chat request (body parse already done by the server).
const { catalog } = loadConfig({ env: {} });
const gpt4o = catalog.resolve('gpt-4o')!;
const counter = createPromptCounter({ inlineMaxChars: defaultInlineMaxChars, pool });
const smallRequest = {
  model: 'gpt-4o',
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Summarise the attached meeting notes in three bullet points, please.' },
  ],
};
const smallSamples: number[] = [];
for (let i = 0; i < 20_000; i++) {
  const started = performance.now();
  counter.countPrompt('chat', smallRequest, gpt4o);
  smallSamples.push((performance.now() - started) * 1000);
}
smallSamples.sort((a, b) => a - b);
console.log(`\n3. Counting a small chat request (2 messages, ~100 chars) inline: p50 ${fmt(percentile(smallSamples, 50), 2)} µs, p99 ${fmt(percentile(smallSamples, 99), 2)} µs`);

// 4. gpt-tokenizer vs @dqbd/tiktoken.
console.log('\n4. gpt-tokenizer vs @dqbd/tiktoken (WASM reference)');
const compareRows = [];
const shortPrompt = 'Hello, how are you doing';
const longProse = textOf(115 * 1024);
for (const enc of ['o200k_base', 'cl100k_base'] as const) {
  const reference = get_encoding(enc);
  getEncoder(enc);
  compareRows.push({
    encoding: enc,
    'gpt-tokenizer 24 chars µs': fmt(timeUs(() => countTextTokens(shortPrompt, enc)), 2),
    'tiktoken 24 chars µs': fmt(timeUs(() => reference.encode_ordinary(shortPrompt).length), 2),
    'gpt-tokenizer 115 KB ms': fmt(timeUs(() => countTextTokens(longProse, enc), 500) / 1000, 2),
    'tiktoken 115 KB ms': fmt(timeUs(() => reference.encode_ordinary(longProse).length, 500) / 1000, 2),
  });
  reference.free();
}
console.table(compareRows);

// Agreement on every line and paragraph of the prose plus generated unicode/code/whitespace mixes.
const pieces = [...prose.split('\n'), ...prose.split('\n\n')];
const extras = ['東京 🙂 naïve', '\ufeff# BOM', 'a \u0085b', '<|endoftext|>', '    indented\tcode();', '1234567890123', "they'RE"];
let samples = 0;
let mismatches = 0;
for (const enc of ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base'] as const) {
  const reference = get_encoding(enc);
  for (let i = 0; i < pieces.length; i++) {
    for (const text of [pieces[i]!, `${pieces[i]}${extras[i % extras.length]}`]) {
      samples += 1;
      if (countTextTokens(text, enc) !== reference.encode_ordinary(text).length) mismatches += 1;
    }
  }
  reference.free();
}
console.log(`agreement: ${samples - mismatches}/${samples} samples across 4 encodings (${mismatches} mismatches)`);

// 5. Text without spaces: one pre-token per run, where a quadratic merge (tiktoken's, and
// gpt-tokenizer's before src/tokens/linear-merge.ts) needs seconds to minutes.
console.log('\n5. Text without spaces (one pre-token), o200k_base: linear merge vs tiktoken (quadratic) as the baseline');
const letters = (chars: number): string => Array.from({ length: chars }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join('');
const runRows = [];
const quadratic = get_encoding('o200k_base');
for (const [label, text] of [
  ["20k 'a'", 'a'.repeat(20_000)],
  ["120k 'a'", 'a'.repeat(120_000)],
  ['40k letters', letters(40_000)],
  ['1 MB letters', letters(1_000_000)],
  ["1 MB '中'", '中'.repeat(1_000_000 / 3)],
] as const) {
  const started = performance.now();
  const poolTokens = await pool.countTexts([text], encoding);
  const poolMs = performance.now() - started;
  // Past 40k characters the quadratic baseline would run for many seconds; it is not repeated.
  const referenceMs = text.length <= 40_000 ? fmt(timeUs(() => quadratic.encode_ordinary(text).length, 1) / 1000, 0) : '(not run)';
  runRows.push({ text: label, tokens: poolTokens, 'inline ms': fmt(timeUs(() => countTextTokens(text, encoding), 1) / 1000, 0), 'pool ms': fmt(poolMs, 0), 'tiktoken ms': referenceMs });
}
quadratic.free();
console.table(runRows);

await pool.close();
