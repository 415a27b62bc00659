// The service tier a request is charged at is the one the answer reports (OpenAI's service_tier in
// the body, the stream's chunks, the Responses API's response object), not the one it asked for:
// OpenAI serves a priority request over its priority limits at the default tier and bills it so,
// and `auto` resolves to whatever the project's default is.
import OpenAI from 'openai';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
let gw: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({ mock });
}, 240_000);

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

async function charged(userId: string): Promise<number> {
  const result = await gw.app.database.db.execute(sql`select cost_micros from usage_events where user_id = ${userId} order by time desc limit 1`);
  return Number((result as unknown as { rows: Array<{ cost_micros: number }> }).rows[0]?.cost_micros ?? -1);
}

async function client(user: string) {
  const created = await gw.newKey({ user });
  return { userId: created.userId, openai: new OpenAI({ apiKey: created.key, baseURL: `${gw.url}/v1`, maxRetries: 0 }) };
}

// o4-mini per 1M tokens: standard $1.10 in / $4.40 out, priority $2 / $8. 1,000 in and 100 out:
const standard = 1000 * 1.1 + 100 * 4.4;
const priority = 1000 * 2 + 100 * 8;

describe('the charged service tier', () => {
  it('is the default tier a priority request was served at, in a whole answer', async () => {
    const { userId, openai } = await client('tier-ann');
    const answer = await openai.chat.completions.create({ model: 'o4-mini', service_tier: 'priority', messages: [{ role: 'user', content: 'hi [mock prompt_tokens=1000 chunks=100 served_tier=default]' }] });
    expect(answer.service_tier).toBe('default');
    await expect.poll(() => charged(userId), { timeout: 5_000 }).toBe(standard);
  });

  it('is the tier the stream’s usage chunk reports, which the client never asked to see', async () => {
    const { userId, openai } = await client('tier-ben');
    const stream = await openai.chat.completions.create({ model: 'o4-mini', service_tier: 'priority', stream: true, messages: [{ role: 'user', content: 'hi [mock prompt_tokens=1000 chunks=100 served_tier=default]' }] });
    for await (const chunk of stream) expect(chunk.usage ?? undefined).toBeUndefined();
    await expect.poll(() => charged(userId), { timeout: 5_000 }).toBe(standard);
  });

  it('is priority when an auto request is served at priority, read from the Responses API’s completed event', async () => {
    const { userId, openai } = await client('tier-cid');
    const stream = await openai.responses.create({ model: 'o4-mini', service_tier: 'auto', stream: true, input: 'hi [mock prompt_tokens=1000 chunks=100 served_tier=priority]' });
    for await (const event of stream) void event;
    await expect.poll(() => charged(userId), { timeout: 5_000 }).toBe(priority);
  });

  it('is still the requested one when the answer names the tier it asked for', async () => {
    const { userId, openai } = await client('tier-dot');
    await openai.chat.completions.create({ model: 'o4-mini', service_tier: 'priority', messages: [{ role: 'user', content: 'hi [mock prompt_tokens=1000 chunks=100]' }] });
    await expect.poll(() => charged(userId), { timeout: 5_000 }).toBe(priority);
  });
});
