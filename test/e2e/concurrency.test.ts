// The overspend acceptance test: three gateway processes share one Redis and one Postgres; a
// thousand concurrent SDK requests race for a budget that admits a hundred. Then a replica is
// killed mid-stream and its reservations must come back within the lease deadline.
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createTokenizerPool } from '../../src/tokens/pool.js';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { postgresAvailable, redisAvailable, redisUrl } from '../helpers/services.js';

const ready = (await redisAvailable()) && (await postgresAvailable());
// Short enough to see a dead replica's reservations come back, long enough that a live request
// on a loaded two-core box is renewed before the reaper may take it (a lease survives ~2/3 of itself
// without renewal; at 3 s, 1,000 racing requests on a busy box admitted 101 of 100).
const leaseMs = 6_000;
const reaperIntervalMs = 500;
const admitsRequests = 100;
const maxTokens = 10;

describe.skipIf(!ready)('three replicas racing for one budget', () => {
  let cluster: Cluster;
  let redis: Redis;
  let unit: number;

  const key = (org: string, user: string) => cluster.key(user, ['--org', org]);
  const orgBucketPattern = (orgId: string) => `${cluster.prefix}{org:${orgId}}:b:org:*`;

  // The org's token bucket, read straight from Redis: used and still reserved.
  async function orgBucket(orgId: string) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', orgBucketPattern(orgId), 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    expect(keys).toHaveLength(1);
    const [used, reserved] = await redis.hmget(keys[0]!, 'u', 'r');
    return { used: Number(used ?? 0), reserved: Number(reserved ?? 0) };
  }

  async function ledger(orgId: string) {
    const client = new pg.Client({ connectionString: cluster.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number; tokens: number }>(
        'select count(*)::int as n, coalesce(sum(prompt_tokens + completion_tokens), 0)::int as tokens from usage_events where org_id = $1',
        [orgId],
      );
      return rows[0]!;
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    // Every request costs exactly the same: the mock reports the prompt as Tollgate counts it and
    // answers with exactly max_tokens chunks, so a reservation equals its final charge.
    const model = loadConfig({ env: {} }).catalog.resolve('gpt-4o-mini')!;
    const pool = createTokenizerPool({ maxThreads: 1, maxQueue: 1 });
    const counted = await createPromptCounter({ inlineMaxChars: 1_000_000, pool }).countPrompt('chat', { model: model.name, messages: [{ role: 'user', content: promptFor(0) }] }, model);
    await pool.close();
    unit = counted.promptTokens + maxTokens;
    cluster = await startCluster('concurrency', 3, {
      TOLLGATE_BUDGET__LEASE_MS: String(leaseMs),
      TOLLGATE_BUDGET__REAPER_INTERVAL_MS: String(reaperIntervalMs),
      TOLLGATE_USAGE__FLUSH_INTERVAL_MS: '50',
      TOLLGATE_USAGE__ORG_REFRESH_MS: '500',
      TOLLGATE_BUDGET__BUDGETS: JSON.stringify([{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'total', limit: admitsRequests * unit }]),
    });
    redis = new Redis(redisUrl);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    redis?.disconnect();
  });

  // Same token count whatever the number, so the prompt is the same size for every request.
  function promptFor(promptTokens: number) {
    return `Tell me a story. [mock chunks=${maxTokens} prompt_tokens=${String(promptTokens).padStart(4, '0')}]`;
  }

  it('admits exactly the budget out of 1,000 concurrent streaming and non-streaming requests, and the counters equal the ledger', async () => {
    const load = await key('acme-load', 'racer');
    const promptTokens = unit - maxTokens;
    const clients = cluster.gateways.map((g) => new OpenAI({ apiKey: load.key, baseURL: `${g.url}/v1`, maxRetries: 0, timeout: 60_000 }));
    const messages = [{ role: 'user' as const, content: promptFor(promptTokens) }];

    const results = await Promise.all(
      Array.from({ length: 1_000 }, async (_, i) => {
        const client = clients[i % clients.length]!;
        try {
          if (i % 2 === 0) {
            await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages });
          } else {
            const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages, stream: true });
            for await (const _ of stream);
          }
          return 'ok';
        } catch (err) {
          return err instanceof OpenAI.APIError ? String(err.status) : (err as Error).message;
        }
      }),
    );
    const tally = results.reduce<Record<string, number>>((t, r) => ({ ...t, [r]: (t[r] ?? 0) + 1 }), {});
    expect(tally).toEqual({ ok: admitsRequests, '429': 1_000 - admitsRequests });

    // A settle lands just after its answer's last byte, so the last one may trail the client.
    await expect.poll(() => orgBucket(load.orgId), { timeout: 5_000, interval: 100 }).toEqual({ used: admitsRequests * unit, reserved: 0 });
    await expect.poll(() => ledger(load.orgId), { timeout: 15_000, interval: 250 }).toEqual({ n: admitsRequests, tokens: admitsRequests * unit });
  }, 90_000);

  it('returns the reservations of a replica killed mid-stream within the lease deadline, while a live long stream keeps its lease', async () => {
    const kill = await key('acme-kill', 'victim');
    const [live, , doomed] = cluster.gateways;
    const stream = (url: string, chunks: number) =>
      request(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${kill.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, max_tokens: maxTokens, messages: [{ role: 'user', content: `[mock chunks=${chunks} delay_ms=250 prompt_tokens=5]` }] }),
      });

    // A stream lasting more than two lease periods on a healthy replica.
    const longLived = await stream(live!.url, 60);
    const doomedStreams = await Promise.all([stream(doomed!.url, 80), stream(doomed!.url, 80), stream(doomed!.url, 80)]);
    const longText = longLived.body.text();
    for (const s of doomedStreams) s.body.text().catch(() => {});
    expect((await orgBucket(kill.orgId)).reserved).toBeGreaterThan(0);

    await doomed!.stop('SIGKILL');
    cluster.gateways.splice(cluster.gateways.indexOf(doomed!), 1);
    const killedAt = performance.now();
    const perRequest = (await orgBucket(kill.orgId)).reserved / 4;
    // Only the live stream's reservation is left once the reaper has run.
    await expect.poll(async () => (await orgBucket(kill.orgId)).reserved, { timeout: leaseMs + reaperIntervalMs + 3_000, interval: 100 }).toBe(perRequest);
    expect(performance.now() - killedAt).toBeLessThan(leaseMs + reaperIntervalMs + 2_000);

    expect(await longText).toContain('data: [DONE]');
    await expect.poll(() => orgBucket(kill.orgId), { timeout: 2_000 }).toMatchObject({ reserved: 0 });
    // The live stream was charged its real usage (5 prompt + 60 completion); the killed ones nothing.
    expect((await orgBucket(kill.orgId)).used).toBe(65);
  }, 90_000);
});
