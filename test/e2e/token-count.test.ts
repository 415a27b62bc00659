// The token-count endpoints: counted by the gateway, never sent upstream, never charged.
import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { cookbookMessages } from '../unit/tokens-fixtures.js';

let mock: MockUpstream;
let gw: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({ mock });
});

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

async function count(body: unknown, key = gw.key) {
  const res = await request(`${gw.url}/v1/token_count`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

describe('POST /v1/token_count', () => {
  // The cookbook conversation is 124 prompt tokens for gpt-4o (o200k_base), as the API reported.
  it('counts a chat prompt exactly as OpenAI bills it, without calling upstream', async () => {
    const before = mock.requests.length;
    const res = await count({ model: 'gpt-4o', messages: cookbookMessages });
    expect(res).toEqual({ status: 200, json: { model: 'gpt-4o', encoding: 'o200k_base', prompt_tokens: 124, estimated: false } });
    expect(mock.requests.length).toBe(before);
  });

  it('counts a 1 MB prompt (worker pool) consistently with small ones (inline)', async () => {
    const unit = 'The quick brown fox jumps over the lazy dog. ';
    const tokens = async (repeats: number) => (await count({ model: 'gpt-4o', input: unit.repeat(repeats) })).json.prompt_tokens as number;
    const [one, two] = [await tokens(10), await tokens(20)];
    const perTen = two - one;
    const overhead = one - perTen;
    expect(await tokens(10 * 2_300)).toBe(overhead + 2_300 * perTen);
  });

  it('marks Anthropic counts as estimates', async () => {
    const res = await count({ model: 'claude-sonnet-4-5', system: 'Be brief.', messages: [{ role: 'user', content: 'Hello, Claude' }] });
    expect(res.json).toMatchObject({ model: 'claude-sonnet-4-5', encoding: 'estimate', estimated: true });
  });

  it('refuses an unknown model and a missing key', async () => {
    expect(await count({ model: 'nope', messages: [] })).toMatchObject({ status: 404, json: { error: { code: 'model_not_found' } } });
    expect((await count({ model: 'gpt-4o', messages: [] }, 'tg-bad')).status).toBe(401);
  });
});

describe('POST /v1/messages/count_tokens', () => {
  it('answers the Anthropic SDK', async () => {
    const anthropic = new Anthropic({ apiKey: gw.key, baseURL: gw.url, maxRetries: 0 });
    const res = await anthropic.messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hello, world' }] });
    expect(res.input_tokens).toBeGreaterThan(0);
  });
});
