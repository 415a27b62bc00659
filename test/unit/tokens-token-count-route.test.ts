import { describe, expect, it } from 'vitest';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { tokenCountResponse } from '../../src/tokens/token-count-route.js';
import { catalog, cookbookMessages, unusedPool } from './tokens-fixtures.js';

const counter = createPromptCounter({ inlineMaxChars: 1_000_000, pool: unusedPool });

describe('token count endpoints', () => {
  it('answers a chat completions body with the canonical model, encoding and count', async () => {
    const body = { model: 'gpt-4o-2024-08-06', messages: cookbookMessages };
    expect(await tokenCountResponse('tollgate', body, catalog, counter)).toEqual({
      model: 'gpt-4o',
      encoding: 'o200k_base',
      prompt_tokens: 124,
      estimated: false,
    });
  });

  it('recognises a Responses body by its input', async () => {
    const fromResponses = await tokenCountResponse('tollgate', { model: 'gpt-4o', input: 'Hello there' }, catalog, counter);
    const fromChat = await tokenCountResponse('tollgate', { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello there' }] }, catalog, counter);
    expect(fromResponses).toEqual(fromChat);
  });

  it('treats `input` as embeddings input when the body says endpoint: embeddings', async () => {
    const result = await tokenCountResponse('tollgate', { model: 'text-embedding-3-small', endpoint: 'embeddings', input: 'Hello there' }, catalog, counter);
    expect(result.prompt_tokens).toBe(2);
  });

  it('counts an Anthropic body as an estimate and marks it so', async () => {
    const body = { model: 'claude-sonnet-4-5', system: 'You are a scientist', messages: [{ role: 'user', content: 'Hello, Claude' }] };
    expect(await tokenCountResponse('tollgate', body, catalog, counter)).toEqual({
      model: 'claude-sonnet-4-5',
      encoding: 'estimate',
      prompt_tokens: 14,
      estimated: true,
    });
  });

  it("answers Anthropic's count_tokens in its shape", async () => {
    const body = { model: 'claude-sonnet-4-5-20250929', system: 'You are a scientist', messages: [{ role: 'user', content: 'Hello, Claude' }] };
    expect(await tokenCountResponse('anthropic', body, catalog, counter)).toEqual({ input_tokens: 14 });
  });

  it('rejects an unknown model with model_not_found (404)', async () => {
    await expect(tokenCountResponse('tollgate', { model: 'gpt-9', messages: [] }, catalog, counter)).rejects.toMatchObject({
      code: 'model_not_found',
      status: 404,
      param: 'model',
    });
  });

  it('rejects a body without model, or with nothing to count, as invalid_request (400)', async () => {
    await expect(tokenCountResponse('tollgate', { messages: cookbookMessages }, catalog, counter)).rejects.toMatchObject({ code: 'invalid_request', param: 'model' });
    await expect(tokenCountResponse('tollgate', { model: 'gpt-4o' }, catalog, counter)).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    await expect(tokenCountResponse('anthropic', 'not an object', catalog, counter)).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
