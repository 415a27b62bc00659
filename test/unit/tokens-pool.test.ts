import { afterAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/catalogue.js';
import { countTextTokens } from '../../src/tokens/count-text.js';
import { textEncodings } from '../../src/tokens/encoders.js';
import { createTokenizerPool, TokenizerOverloadedError } from '../../src/tokens/pool.js';

// Runs under vitest, whose workers do not load bin/typescript.js: this is the test that the pool
// finds its .ts worker and loads it through bin/typescript.js by itself.
const pool = createTokenizerPool({ maxThreads: 1, maxQueue: 1 });
afterAll(() => pool.close());

const prose = 'Budgets are enforced inline; tokens are counted before the request leaves. 東京 🙂 <|endoftext|>\n';

describe('tokenizer pool', () => {
  it.each(textEncodings)('counts in a worker exactly what the main thread counts (%s)', async (encoding) => {
    const texts = [prose.repeat(50), 'def f(x):\n\treturn x ** 2\n', ''];
    const inline = texts.reduce((sum, text) => sum + countTextTokens(text, encoding), 0);
    expect(await pool.countTexts(texts, encoding)).toBe(inline);
  });

  it('refuses with tokenizer_overloaded (503) once every thread is busy and the queue is full', async () => {
    const big = [prose.repeat(20_000)];
    const running = pool.countTexts(big, 'o200k_base');
    const queued = pool.countTexts(big, 'o200k_base');
    const refused = pool.countTexts(big, 'o200k_base');
    await expect(refused).rejects.toBeInstanceOf(TokenizerOverloadedError);
    await expect(refused).rejects.toMatchObject({ code: 'tokenizer_overloaded', status: 503 });
    expect(await running).toBe(await queued);
    // The bound frees up as tasks finish.
    expect(await pool.countTexts(['hello'], 'o200k_base')).toBe(1);
  });

  it('is a GatewayError, so the server renders it in the provider shape', () => {
    expect(new TokenizerOverloadedError()).toBeInstanceOf(GatewayError);
  });

  it('validates its options with a message naming the option', () => {
    expect(() => createTokenizerPool({ maxThreads: 0, maxQueue: 1 })).toThrow(/maxThreads must be an integer >= 1/);
    expect(() => createTokenizerPool({ maxThreads: 1, maxQueue: -1 })).toThrow(/maxQueue must be an integer >= 0/);
    expect(() => createTokenizerPool({ maxThreads: 1, maxQueue: 1, taskTimeoutMs: 0 })).toThrow(/taskTimeoutMs must be an integer >= 1/);
    expect(() => createTokenizerPool({ maxThreads: 1, maxQueue: 1, closeTimeoutMs: 1.5 })).toThrow(/closeTimeoutMs must be an integer >= 0/);
  });
});
