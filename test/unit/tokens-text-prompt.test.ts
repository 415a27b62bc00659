import { describe, expect, it } from 'vitest';
import { countTextTokens } from '../../src/tokens/count-text.js';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { catalogModel, unusedPool } from './tokens-fixtures.js';

const counter = createPromptCounter({ inlineMaxChars: 1_000_000, pool: unusedPool });
const cl100k = (text: string) => countTextTokens(text, 'cl100k_base');

describe('completions and embeddings prompt counting', () => {
  it('counts a completions prompt and suffix as bare text, no chat framing', async () => {
    const result = await counter.countPrompt('completions', { prompt: 'Say this is a test', suffix: ' done' }, catalogModel('gpt-3.5-turbo-instruct'));
    expect(result).toEqual({ promptTokens: cl100k('Say this is a test') + cl100k(' done'), estimated: false, encoding: 'cl100k_base' });
  });

  it('sums a batch of embedding inputs', async () => {
    const result = await counter.countPrompt('embeddings', { input: ['first text', 'second text'] }, catalogModel('text-embedding-3-small'));
    expect(result.promptTokens).toBe(cl100k('first text') + cl100k('second text'));
  });

  it('counts pre-tokenized input by its length, single and batched', async () => {
    const model = catalogModel('text-embedding-3-small');
    expect((await counter.countPrompt('embeddings', { input: [1, 2, 3] }, model)).promptTokens).toBe(3);
    expect((await counter.countPrompt('embeddings', { input: [[1, 2], [3, 4, 5]] }, model)).promptTokens).toBe(5);
  });

  it('rejects an embeddings body without input', async () => {
    await expect(async () => counter.countPrompt('embeddings', { model: 'x' }, catalogModel('text-embedding-3-small'))).rejects.toMatchObject({ code: 'invalid_request', param: 'input' });
  });
});
