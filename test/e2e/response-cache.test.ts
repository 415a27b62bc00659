// The response cache, on both backends (the in-process store embedded; Redis with Postgres): a
// cached answer is the first one byte for byte, streamed or not, served without an upstream call,
// costs nothing in the ledger (a zero-cost row tagged tollgate_cache: hit), and is never served to
// another org even when that org has opted in too.
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { openDatabase } from '../../src/db/database.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

const servicesUp = (await redisAvailable()) && (await postgresAvailable());
const overrides = {
  'responseCache.scopes': [{ scope: 'org', id: '*' }],
  'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'costMicros', window: 'month', limit: 100_000_000 }],
};

let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => mock?.close());

const backends = [
  { name: 'embedded', skip: false, env: async () => ({ env: {}, drop: async () => {} }) },
  {
    name: 'Redis and Postgres',
    skip: !servicesUp,
    env: async () => {
      const database = await createTestDatabase('response_cache');
      const migrating = await openDatabase({ databaseUrl: database.url, dataDir: '' });
      await migrating.migrate();
      await migrating.close();
      // The flusher learns of new orgs from the orgs table: reload it often.
      return { env: { REDIS_URL: redisUrl, DATABASE_URL: database.url, TOLLGATE_REDIS_KEY_PREFIX: uniquePrefix('rcache'), TOLLGATE_USAGE__ORG_REFRESH_MS: '200' }, drop: database.drop };
    },
  },
];

describe.each(backends)('the response cache ($name)', ({ skip, env }) => {
  let gw: TestGateway;
  let drop: () => Promise<void> = async () => {};
  beforeAll(async () => {
    if (skip) return;
    const backend = await env();
    drop = backend.drop;
    gw = await startTestGateway({ mock, env: backend.env, overrides });
  });
  afterAll(async () => {
    await gw?.close();
    await drop();
  });

  const post = async (key: string, body: string) => {
    const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
    return { status: res.statusCode, cache: res.headers['x-tollgate-cache'], bytes: Buffer.from(await res.body.arrayBuffer()) };
  };
  type Row = { cost_micros: number; unmetered: boolean; tags: Record<string, string> };
  const ledger = async (userId: string): Promise<Row[]> => {
    const result = await gw.app.database.db.execute(sql`select cost_micros, unmetered, tags from usage_events where user_id = ${userId} order by time`);
    return (result as unknown as { rows: Row[] }).rows.map((r) => ({ ...r, cost_micros: Number(r.cost_micros) }));
  };
  const settled = async (userId: string, rows: number) => {
    await expect.poll(async () => (await ledger(userId)).length, { timeout: 15_000 }).toBe(rows);
    return ledger(userId);
  };

  it.skipIf(skip)('serves a whole answer again byte for byte, without the provider, at no cost', async () => {
    const { key, userId } = await gw.newKey({ user: 'cache-plain' });
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'cache me plainly' }], max_tokens: 20 });
    const before = mock.requests.length;
    const first = await post(key, body);
    expect(first).toMatchObject({ status: 200, cache: 'miss' });
    expect(mock.requests.length).toBe(before + 1);
    const second = await post(key, body);
    expect(second).toMatchObject({ status: 200, cache: 'hit' });
    expect(second.bytes.equals(first.bytes)).toBe(true);
    expect(mock.requests.length).toBe(before + 1);

    // The same request with its keys in another order is the same request.
    const reordered = JSON.stringify({ max_tokens: 20, messages: [{ content: 'cache me plainly', role: 'user' }], model: 'gpt-4o-mini' });
    expect((await post(key, reordered)).cache).toBe('hit');
    // The official client reads a hit like any answer.
    const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'cache me plainly' }], max_tokens: 20 }).withResponse();
    expect(response.headers.get('x-tollgate-cache')).toBe('hit');
    expect(data.choices[0]!.message.content).toBe(JSON.parse(first.bytes.toString()).choices[0].message.content);
    expect(mock.requests.length).toBe(before + 1);

    const rows = await settled(userId, 4);
    expect(rows[0]!.cost_micros).toBeGreaterThan(0);
    expect(rows[0]!.tags).toEqual({});
    for (const hit of rows.slice(1)) expect(hit).toMatchObject({ cost_micros: 0, unmetered: true, tags: { tollgate_cache: 'hit' } });
  });

  it.skipIf(skip)('serves a streamed answer again byte for byte', async () => {
    const { key, userId } = await gw.newKey({ user: 'cache-stream' });
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'cache my stream' }], max_tokens: 20, stream: true });
    const before = mock.requests.length;
    const first = await post(key, body);
    expect(first.cache).toBe('miss');
    expect(first.bytes.toString()).toContain('data: [DONE]');
    const second = await post(key, body);
    expect(second.cache).toBe('hit');
    expect(second.bytes.equals(first.bytes)).toBe(true);
    expect(mock.requests.length).toBe(before + 1);
    // Streamed and whole answers of one prompt are different answers.
    expect((await post(key, JSON.stringify({ ...JSON.parse(body), stream: false }))).cache).toBe('miss');
    const rows = await settled(userId, 3);
    expect(rows[1]).toMatchObject({ cost_micros: 0, tags: { tollgate_cache: 'hit' } });
  });

  it.skipIf(skip)("never serves one org's answer to another org, even one that opted in", async () => {
    const mine = await gw.newKey({ org: 'cache-org-a', user: 'a' });
    const theirs = await gw.newKey({ org: 'cache-org-b', user: 'b' });
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'org secret answer' }], max_tokens: 20 });
    expect((await post(mine.key, body)).cache).toBe('miss');
    expect((await post(mine.key, body)).cache).toBe('hit');
    const before = mock.requests.length;
    const other = await post(theirs.key, body);
    expect(other.cache).toBe('miss');
    expect(mock.requests.length).toBe(before + 1);
    const rows = await settled(theirs.userId, 1);
    expect(rows[0]!.cost_micros).toBeGreaterThan(0);
  });
});

describe('without an opt-in', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ mock, overrides: { 'responseCache.scopes': [{ scope: 'org', id: 'org_nobody' }] } });
  });
  afterAll(async () => gw?.close());

  it('caches nothing and says nothing', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'not cached' }], max_tokens: 20 });
    const before = mock.requests.length;
    for (let i = 0; i < 2; i++) {
      const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' }, body });
      await res.body.arrayBuffer();
      expect(res.headers['x-tollgate-cache']).toBeUndefined();
    }
    expect(mock.requests.length).toBe(before + 2);
  });
});
