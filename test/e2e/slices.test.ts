// Replica-local budget slices across three gateway processes sharing one Redis and one Postgres:
// twenty thousand SDK requests against a budget with 10% headroom never charge past the limit and
// stop within one request of it, and a replica killed while holding slices has them returned by
// the reaper within the lease deadline.
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createTokenizerPool } from '../../src/tokens/pool.js';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { postgresAvailable, redisAvailable, redisUrl } from '../helpers/services.js';

const ready = (await redisAvailable()) && (await postgresAvailable());
const leaseMs = 6_000;
const reaperIntervalMs = 500;
const maxTokens = 10;
const requests = 20_000;
// The budget admits 90% of the requests sent.
const admitsRequests = 18_000;
// Requests in flight at once, spread over the replicas.
const inFlight = 60;

describe.skipIf(!ready)('three replicas spending a budget through slices', () => {
  let cluster: Cluster;
  let redis: Redis;
  let unit: number;
  let prompt: string;

  const keysMatching = async (pattern: string) => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  };
  const orgTagOf = (orgId: string) => `${cluster.prefix}{org:${orgId}}`;
  async function orgBucket(orgId: string) {
    const keys = await keysMatching(`${orgTagOf(orgId)}:b:org:*`);
    expect(keys).toHaveLength(1);
    const [used, reserved] = await redis.hmget(keys[0]!, 'u', 'r');
    return { used: Number(used ?? 0), reserved: Number(reserved ?? 0) };
  }
  const sliceHolders = (orgId: string) => keysMatching(`${orgTagOf(orgId)}:slice:*`);

  beforeAll(async () => {
    // Every request costs the same: the mock reports the prompt as Tollgate counts it and answers
    // with exactly max_tokens chunks, so a reservation equals its final charge.
    const model = loadConfig({ env: {} }).catalog.resolve('gpt-4o-mini')!;
    prompt = `Tell me a story. [mock chunks=${maxTokens} prompt_tokens=0000]`;
    const pool = createTokenizerPool({ maxThreads: 1, maxQueue: 1 });
    const counted = await createPromptCounter({ inlineMaxChars: 1_000_000, pool }).countPrompt('chat', { model: model.name, messages: [{ role: 'user', content: prompt }] }, model);
    await pool.close();
    prompt = prompt.replace('0000', String(counted.promptTokens).padStart(4, '0'));
    unit = counted.promptTokens + maxTokens;
    cluster = await startCluster('slices', 3, {
      TOLLGATE_BUDGET__LEASE_MS: String(leaseMs),
      TOLLGATE_BUDGET__REAPER_INTERVAL_MS: String(reaperIntervalMs),
      TOLLGATE_USAGE__ORG_REFRESH_MS: '500',
      TOLLGATE_BUDGET__BUDGETS: JSON.stringify([{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'total', limit: admitsRequests * unit }]),
    });
    redis = new Redis(redisUrl);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    redis?.disconnect();
  });

  it('charges at most the limit and admits within one request of it out of 20,000 requests through three replicas with 10% headroom', async () => {
    const load = await cluster.key('spender', ['--org', 'acme-slices']);
    const clients = cluster.gateways.map((g) => new OpenAI({ apiKey: load.key, baseURL: `${g.url}/v1`, maxRetries: 0, timeout: 60_000 }));
    const messages = [{ role: 'user' as const, content: prompt }];
    const tally: Record<string, number> = {};
    let sawSlices = false;
    let overLimit = 0;
    const watcher = setInterval(() => {
      void sliceHolders(load.orgId).then((k) => (sawSlices ||= k.length > 0));
      void orgBucket(load.orgId).then(({ used }) => (overLimit = Math.max(overLimit, used - admitsRequests * unit)), () => {});
    }, 200);
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async (_, lane) => {
        const client = clients[lane % clients.length]!;
        for (let i = next++; i < requests; i = next++) {
          let outcome: string;
          try {
            await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages });
            outcome = 'ok';
          } catch (err) {
            outcome = err instanceof OpenAI.APIError ? String(err.status) : (err as Error).message;
          }
          tally[outcome] = (tally[outcome] ?? 0) + 1;
        }
      }),
    );
    clearInterval(watcher);
    expect(sawSlices).toBe(true);
    expect(Object.keys(tally).toSorted()).toEqual(['429', 'ok']);
    const admitted = tally.ok!;
    expect(admitted * unit).toBeLessThanOrEqual(admitsRequests * unit);
    expect(admitted * unit).toBeGreaterThan(admitsRequests * unit - unit);
    expect(overLimit).toBeLessThanOrEqual(0);
    // Settles land just after their answers; idle slices go back after a second.
    await expect.poll(() => orgBucket(load.orgId), { timeout: 10_000, interval: 100 }).toEqual({ used: admitted * unit, reserved: 0 });
  }, 600_000);

  it("returns the slices of a replica killed while holding them within the lease deadline", async () => {
    const kill = await cluster.key('victim', ['--org', 'acme-slice-kill']);
    const doomed = cluster.gateways.at(-1)!;
    const client = new OpenAI({ apiKey: kill.key, baseURL: `${doomed.url}/v1`, maxRetries: 0, timeout: 60_000 });
    const messages = [{ role: 'user' as const, content: prompt }];
    // Traffic until the replica holds a slice, and while it is killed.
    let running = true;
    const traffic = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (running) await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages }).catch(() => {});
      }),
    );
    await expect.poll(() => sliceHolders(kill.orgId), { timeout: 20_000, interval: 50 }).toHaveLength(1);
    expect((await orgBucket(kill.orgId)).reserved).toBeGreaterThan(0);
    await doomed.stop('SIGKILL');
    running = false;
    await traffic;
    cluster.gateways.splice(cluster.gateways.indexOf(doomed), 1);
    const killedAt = performance.now();
    await expect.poll(async () => (await orgBucket(kill.orgId)).reserved, { timeout: leaseMs + reaperIntervalMs + 3_000, interval: 100 }).toBe(0);
    expect(performance.now() - killedAt).toBeLessThan(leaseMs + reaperIntervalMs + 2_000);
    expect(await sliceHolders(kill.orgId)).toEqual([]);
  }, 120_000);
});
