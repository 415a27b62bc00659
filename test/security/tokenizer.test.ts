// Finding 6 (tokenizer half): text built to make byte-pair merging quadratic (one pre-token of a
// million letters) must not pin a worker for minutes, hold ordinary prompts behind it, or be
// counted on the event loop; and whatever shortcut bounds the time must never count fewer tokens
// than the provider's tokenizer, or a budget could be overrun by construction.
import { get_encoding, type Tiktoken } from '@dqbd/tiktoken';
import fc from 'fast-check';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { countTextTokens, upperBoundTokens } from '../../src/tokens/count-text.js';
import { createTokenizerPool } from '../../src/tokens/pool.js';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { catalogModel } from '../unit/tokens-fixtures.js';

const gpt4o = catalogModel('gpt-4o');
const chatBody = (content: string) => ({ model: 'gpt-4o', messages: [{ role: 'user', content }] });
const ordinary = 'Budgets are enforced inline; tokens are counted before the request leaves.\n'.repeat(200);

// Seeded lowercase letters: one pre-token whose merges do not collapse in a few passes as 'aaaa' does.
function letters(length: number, seed = 7): string {
  let state = seed;
  let out = '';
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out += String.fromCharCode(97 + (state >>> 16) % 26);
  }
  return out;
}

const reference = new Map<string, Tiktoken>();
afterAll(() => {
  for (const encoder of reference.values()) encoder.free();
});
const exactCount = (text: string, encoding: 'o200k_base' | 'cl100k_base'): number => {
  let encoder = reference.get(encoding);
  if (!encoder) reference.set(encoding, (encoder = get_encoding(encoding)));
  return encoder.encode(text, [], []).length;
};

describe('a prompt without spaces cannot pin the tokenizer', () => {
  const pool = createTokenizerPool({ maxThreads: 1, maxQueue: 4 });
  afterAll(() => pool.close());
  const counter = createPromptCounter({ inlineMaxChars: 4096, pool });

  it('counts 120k and 1 MB no-space prompts in bounded time, and an ordinary prompt behind them is answered promptly', async () => {
    const megabyte = letters(1_000_000);
    const started = performance.now();
    const big = [counter.countPrompt('chat', chatBody('a'.repeat(120_000)), gpt4o), counter.countPrompt('chat', chatBody(megabyte), gpt4o)];
    // Queued behind both on the one thread.
    const behind = Promise.resolve(counter.countPrompt('chat', chatBody(ordinary), gpt4o)).then((count) => ({ count, ms: performance.now() - started }));
    const [small, large] = await Promise.all(big);
    const queued = await behind;
    // Quadratic merging took 8.9 s for 120k and minutes for 1 MB; linear work takes about a second,
    // and the pool's time box (5 s) caps it on a machine too loaded for that.
    expect(queued.ms).toBeLessThan(8_000);
    // The reference tokenizer is quadratic too, so it counts a sixth: a run of 'a' merges into
    // eight-letter tokens, and 20,000 is a multiple of eight.
    expect(small).toEqual({ promptTokens: 6 * exactCount('a'.repeat(20_000), 'o200k_base') + 3 + 4, estimated: false, encoding: 'o200k_base' });
    // Exact, or the upper bound if a loaded machine ran past the time box: never below exact.
    expect(large!.promptTokens).toBeGreaterThanOrEqual(countTextTokens(megabyte, 'o200k_base') + 3 + 4);
    expect(queued.count.promptTokens).toBeGreaterThanOrEqual(exactCount(ordinary, 'o200k_base') + 3 + 4);
  }, 60_000);

  it('ends a pool task that overruns its time box and charges a safe upper bound instead', async () => {
    const boxed = createTokenizerPool({ maxThreads: 1, maxQueue: 1, taskTimeoutMs: 1 });
    try {
      const text = letters(400_000, 3);
      const count = await createPromptCounter({ inlineMaxChars: 4096, pool: boxed }).countPrompt('chat', chatBody(text), gpt4o);
      // 3 per message and 3 priming the reply; the role's text is bounded by its bytes too.
      expect(count).toMatchObject({ estimated: true, promptTokens: upperBoundTokens(['user', text]) + 3 + 3 });
    } finally {
      await boxed.close();
    }
  }, 30_000);
});

describe('a completion without usage is never counted on the event loop', () => {
  it('charges a safe upper bound, without blocking, when the pool is full', async () => {
    const pool = createTokenizerPool({ maxThreads: 1, maxQueue: 0 });
    const counter = createPromptCounter({ inlineMaxChars: 4096, pool });
    try {
      // Only there to hold the one thread; whether it finishes in time does not matter here.
      const busy = pool.countTexts([ordinary.repeat(20)], 'o200k_base').catch(() => undefined);
      const delivered = 'a'.repeat(120_000);
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const started = performance.now();
      const completion = await counter.countCompletion(delivered, gpt4o);
      const elapsedMs = performance.now() - started;
      loop.disable();
      expect(elapsedMs).toBeLessThan(250);
      expect(loop.max / 1e6).toBeLessThan(250);
      expect(completion).toEqual({ tokens: upperBoundTokens([delivered]), estimated: true });
      expect(completion.tokens).toBeGreaterThanOrEqual(6 * exactCount('a'.repeat(20_000), 'o200k_base'));
      await busy;
    } finally {
      await pool.close();
    }
  }, 60_000);
});

describe('bounding the work never under-counts', () => {
  // Long runs of one character class are the pre-tokens that made merging quadratic.
  const runs = fc
    .array(
      fc.oneof(
        fc.constantFrom('a', 'ab', 'Ab', 'AB', 'x', 'q', 'é', '中', '文', '🙂', '!', '=', '-', ' ', '\n', '1', '\ufeff', 'zz'),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .chain((units) => fc.tuple(fc.constant(units), fc.integer({ min: 300, max: 3_000 })))
    .map(([units, length]) => {
      let text = '';
      for (let i = 0; text.length < length; i++) text += units[i % units.length];
      return text;
    });

  it.each(['o200k_base', 'cl100k_base'] as const)('counts long runs exactly as tiktoken does, and the upper bound is never below (%s)', (encoding) => {
    fc.assert(
      fc.property(runs, (text) => {
        const exact = exactCount(text, encoding);
        expect(countTextTokens(text, encoding)).toBe(exact);
        expect(upperBoundTokens([text])).toBeGreaterThanOrEqual(exact);
      }),
      { numRuns: 150, seed: 6 },
    );
  });
});

describe('closing the pool is bounded in time', () => {
  it('does not wait for a task that runs past the close deadline', async () => {
    const pool = createTokenizerPool({ maxThreads: 1, maxQueue: 1, closeTimeoutMs: 100 });
    const running = pool.countTexts([ordinary.repeat(2_000)], 'o200k_base').catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await pool.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    await running;
  }, 30_000);
});
