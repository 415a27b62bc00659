import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { createTokenizerPool } from '../../src/tokens/pool.js';
import { createPromptCounter, defaultInlineMaxChars } from '../../src/tokens/prompt-counter.js';
import { catalogModel, unusedPool } from './tokens-fixtures.js';

// One core stays with the event loop: on a small machine, workers on every core would starve it
// of CPU, which is a deployment question rather than one of counting off-thread.
const pool = createTokenizerPool({ maxThreads: Math.max(1, availableParallelism() - 1), maxQueue: 16 });
afterAll(() => pool.close());

const gpt4o = catalogModel('gpt-4o');
const oneMegabyte = 1024 * 1024;

function prompt(seed: number): string {
  const words = ['budget', 'token', 'gateway', 'naïve', '東京', 'return x;', '\n', '   ', 'Reservation', String(seed)];
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < oneMegabyte; i++) {
    const word = words[(i * 7 + seed) % words.length]!;
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(' ').slice(0, oneMegabyte);
}

describe('counting large prompts off the event loop', () => {
  it('keeps the event loop answering while ten 1 MB prompts are counted, with the same counts as inline', async () => {
    const counter = createPromptCounter({ inlineMaxChars: defaultInlineMaxChars, pool });
    const bodies = Array.from({ length: 10 }, (_, i) => ({ messages: [{ role: 'user', content: prompt(i) }] }));
    // Start the workers and load their encoder first: that is startup cost, not per-request cost.
    await counter.countPrompt('chat', { messages: [{ role: 'user', content: 'x'.repeat(defaultInlineMaxChars + 1) }] }, gpt4o);

    const delay = monitorEventLoopDelay({ resolution: 1 });
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 1);
    delay.enable();
    const started = performance.now();
    const counts = await Promise.all(bodies.map((body) => counter.countPrompt('chat', body, gpt4o)));
    const elapsedMs = performance.now() - started;
    delay.disable();
    clearInterval(ticker);

    const p99Ms = delay.percentile(99) / 1e6;
    const maxMs = delay.max / 1e6;
    console.log(`ten 1 MB prompts counted in the pool in ${elapsedMs.toFixed(0)} ms; event-loop delay p99 ${p99Ms.toFixed(1)} ms, max ${maxMs.toFixed(1)} ms, ${ticks} 1 ms ticks ran`);
    // Counting one 1 MB prompt inline blocks for ~50 ms, ten for ~500 ms: far above this bound.
    expect(p99Ms).toBeLessThan(30);
    expect(ticks).toBeGreaterThan(elapsedMs / 10);

    const inline = createPromptCounter({ inlineMaxChars: Number.MAX_SAFE_INTEGER, pool: unusedPool });
    for (const [i, body] of bodies.entries()) {
      expect(counts[i]).toEqual(inline.countPrompt('chat', body, gpt4o));
    }
  });
});
