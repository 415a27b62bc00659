// OpenAI-compatible services added by a preset, end to end with the openai SDK against the OpenAI
// mock: Groq (a hosted service, key from GROQ_API_KEY, catalog prices) and Ollama (a local server,
// any model it serves priced by estimate at zero and marked so in the ledger).
import OpenAI from 'openai';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
let gw: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({
    mock,
    env: { GROQ_API_KEY: 'gsk-upstream-groq' },
    overrides: { 'providers.groq': { preset: 'groq', baseUrl: `${mock.url}/v1` }, 'providers.ollama': { preset: 'ollama', baseUrl: `${mock.url}/v1` } },
  });
}, 240_000);

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

async function ledgerRow(userId: string) {
  const result = await gw.app.database.db.execute(sql`select provider, model, prompt_tokens, completion_tokens, cost_micros, estimated from usage_events where user_id = ${userId} order by time desc limit 1`);
  return (result as unknown as { rows: Array<Record<string, unknown>> }).rows[0];
}

describe('providers added by a preset', () => {
  it('sends a Groq model to Groq with the key from GROQ_API_KEY and charges Groq’s published price', async () => {
    const created = await gw.newKey({ user: 'preset-ann' });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: created.key, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'hi [mock chunks=4 prompt_tokens=100]' }], max_tokens: 50 });
    expect(answer.choices[0]!.message.content).toBe('tok0 tok1 tok2 tok3 ');
    const upstream = mock.requests.at(-1)!;
    expect(upstream.path).toBe('/v1/chat/completions');
    expect(upstream.headers.authorization).toBe('Bearer gsk-upstream-groq');
    expect(JSON.stringify(upstream.headers)).not.toContain(created.key);
    // 100 input at $0.59/M + 4 output at $0.79/M = 62.16 micro-USD, rounded up.
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ provider: 'groq', model: 'llama-3.3-70b-versatile', prompt_tokens: 100, completion_tokens: 4, cost_micros: 63, estimated: false });
  });

  it('serves any model an Ollama server has as ollama/MODEL, forwarded by its own name, estimated at zero cost', async () => {
    const created = await gw.newKey({ user: 'preset-ben' });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: created.key, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'ollama/qwen2.5:7b', messages: [{ role: 'user', content: 'hi [mock chunks=3 prompt_tokens=30]' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('tok0 tok1 tok2 ');
    const upstream = mock.requests.at(-1)!;
    expect(upstream.body).toMatchObject({ model: 'qwen2.5:7b' });
    expect(upstream.headers.authorization).toBeUndefined();
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ provider: 'ollama', model: 'ollama/qwen2.5:7b', prompt_tokens: 30, completion_tokens: 3, cost_micros: 0, estimated: true });
  });
});
