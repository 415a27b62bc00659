import { describe, expect, it } from 'vitest';
import { countTextsTokens, upperBoundTokens } from '../../src/tokens/count-text.js';
import type { TextEncoding } from '../../src/tokens/encoders.js';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { TokenizerOverloadedError, type TokenizerPool } from '../../src/tokens/pool.js';
import { catalogModel, unusedPool } from './tokens-fixtures.js';

function recordingPool(behaviour: 'count' | 'overloaded' = 'count') {
  const calls: Array<{ chars: number; encoding: TextEncoding }> = [];
  const pool: TokenizerPool = {
    countTexts: async (texts, encoding) => {
      calls.push({ chars: texts.reduce((n, t) => n + t.length, 0), encoding });
      if (behaviour === 'overloaded') throw new TokenizerOverloadedError();
      return countTextsTokens(texts, encoding);
    },
    queued: 0,
    close: async () => {},
  };
  return { pool, calls };
}

const gpt4o = catalogModel('gpt-4o');
const sonnet = catalogModel('claude-sonnet-4-5');
const chatBody = (content: string) => ({ messages: [{ role: 'user', content }] });

describe('prompt counter', () => {
  it('counts a small prompt inline and returns a plain value, not a promise', () => {
    const counter = createPromptCounter({ inlineMaxChars: 1024, pool: unusedPool });
    const result = counter.countPrompt('chat', chatBody('Hello'), gpt4o);
    expect(result).not.toBeInstanceOf(Promise);
    expect(result).toMatchObject({ estimated: false, encoding: 'o200k_base' });
  });

  it('sends a prompt over the threshold to the pool, with the same result as counting inline', async () => {
    const { pool, calls } = recordingPool();
    const text = 'word '.repeat(500);
    const viaPool = await createPromptCounter({ inlineMaxChars: 1024, pool }).countPrompt('chat', chatBody(text), gpt4o);
    const inline = await createPromptCounter({ inlineMaxChars: 1_000_000, pool: unusedPool }).countPrompt('chat', chatBody(text), gpt4o);
    expect(calls).toEqual([{ chars: 'user'.length + text.length, encoding: 'o200k_base' }]);
    expect(viaPool).toEqual(inline);
  });

  it('passes the pool refusal through as tokenizer_overloaded for prompts', async () => {
    const { pool } = recordingPool('overloaded');
    const counter = createPromptCounter({ inlineMaxChars: 10, pool });
    await expect(counter.countPrompt('chat', chatBody('x'.repeat(100)), gpt4o)).rejects.toMatchObject({ code: 'tokenizer_overloaded' });
  });

  it('counts Anthropic models by estimate with o200k_base text scaled by 1.3 and says so', async () => {
    const counter = createPromptCounter({ inlineMaxChars: 1_000_000, pool: unusedPool });
    const result = await counter.countPrompt('chat', chatBody('Hello'), sonnet);
    const textTokens = countTextsTokens(['user', 'Hello'], 'o200k_base');
    // 3 framing + 3 priming are not scaled: they are the chat formula's, not text.
    expect(result).toEqual({ promptTokens: 6 + Math.ceil(textTokens * 1.3), estimated: true, encoding: 'estimate' });
  });

  it('counts completion text inline when short and in the pool when long', async () => {
    const { pool, calls } = recordingPool();
    const counter = createPromptCounter({ inlineMaxChars: 100, pool });
    expect(await counter.countCompletion('Hello world', gpt4o)).toEqual({ tokens: 2, estimated: false });
    expect(calls).toHaveLength(0);
    const long = 'Hello world '.repeat(50);
    expect(await counter.countCompletion(long, gpt4o)).toEqual({ tokens: countTextsTokens([long], 'o200k_base'), estimated: false });
    expect(calls).toHaveLength(1);
  });

  it('charges a delivered completion its byte length when the pool is full, never tokenizing it on the event loop', async () => {
    const { pool } = recordingPool('overloaded');
    const counter = createPromptCounter({ inlineMaxChars: 10, pool });
    const text = 'Hello world '.repeat(50);
    expect(await counter.countCompletion(text, gpt4o)).toEqual({ tokens: upperBoundTokens([text]), estimated: true });
  });

  it('scales an estimated completion up and rounds up (ceil of 1.3 x o200k count)', async () => {
    const counter = createPromptCounter({ inlineMaxChars: 1000, pool: unusedPool });
    const o200k = countTextsTokens(['Hello world'], 'o200k_base');
    expect(await counter.countCompletion('Hello world', sonnet)).toEqual({ tokens: Math.ceil(o200k * 1.3), estimated: true });
  });

  it('rejects a negative or fractional threshold', () => {
    expect(() => createPromptCounter({ inlineMaxChars: -1, pool: unusedPool })).toThrow(/inlineMaxChars/);
    expect(() => createPromptCounter({ inlineMaxChars: 1.5, pool: unusedPool })).toThrow(/inlineMaxChars/);
  });
});
