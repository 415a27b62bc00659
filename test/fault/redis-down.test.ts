// A gateway process whose Redis (its own redis-server, killed and restarted on the same port)
// goes away. Fail closed (the default): metered requests get a quick 503 budget_unavailable,
// /ready says not_ready, and requests succeed again within seconds of Redis coming back. Fail
// open: requests are served throughout, and the usage Redis could not take still reaches the
// Postgres ledger through the in-process queue. Either way every 200 ends up in the ledger once.
import OpenAI from 'openai';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { type GatewayProcess, runCli, spawnGateway } from '../helpers/processes.js';
import { createTestDatabase, postgresAvailable, uniquePrefix } from '../helpers/services.js';
import { available, createOwnRedis, type OwnRedis, redisServerProblem, sleep } from './support.js';

const ready = (await postgresAvailable()) && available('a throwaway redis-server', redisServerProblem());

describe.skipIf(!ready)('a gateway whose Redis is killed and restarted', () => {
  let mock: MockUpstream;
  let redis: OwnRedis;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let baseEnv: Record<string, string>;
  let gateway: GatewayProcess | undefined;

  beforeAll(async () => {
    mock = await startMockUpstream();
    redis = await createOwnRedis();
    await redis.start();
    database = await createTestDatabase('redis_down');
    baseEnv = {
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      OPENAI_BASE_URL: `${mock.url}/v1`,
      OPENAI_API_KEY: 'sk-upstream',
      TOLLGATE_BUDGET__BUDGETS: JSON.stringify([{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'total', limit: 100_000_000 }]),
      TOLLGATE_USAGE__FLUSH_INTERVAL_MS: '50',
      TOLLGATE_USAGE__ORG_REFRESH_MS: '500',
      TOLLGATE_USAGE__MONITOR_INTERVAL_MS: '250',
      TOLLGATE_USAGE__RETRY_MAX_MS: '500',
    };
    const migrated = await runCli(['migrate'], baseEnv);
    expect(migrated.code, migrated.stderr).toBe(0);
  }, 60_000);

  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
  });

  afterAll(async () => {
    await redis?.kill();
    await mock?.close();
    await database?.drop();
  });

  // A fresh org and key per scenario, and a gateway (with its own key prefix) started after them.
  async function start(org: string, env: Record<string, string> = {}) {
    const created = await runCli(['keys', 'create', '--org', org, '--user', 'u', '--json'], baseEnv);
    expect(created.code, created.stderr).toBe(0);
    const { key, orgId } = JSON.parse(created.stdout) as { key: string; orgId: string };
    gateway = await spawnGateway({ ...baseEnv, TOLLGATE_REDIS_KEY_PREFIX: uniquePrefix(org), ...env });
    return { orgId, client: new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0, timeout: 15_000 }) };
  }

  // Non-streaming for even n, streaming for odd: status (or error) and how long it took.
  async function chat(client: OpenAI, n: number) {
    const params = { model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user' as const, content: `n=${n} [mock chunks=3 prompt_tokens=7]` }] };
    const started = performance.now();
    try {
      if (n % 2 === 0) {
        await client.chat.completions.create(params);
      } else {
        const stream = await client.chat.completions.create({ ...params, stream: true });
        for await (const _ of stream);
      }
      return { status: 200, ms: performance.now() - started };
    } catch (err) {
      if (!(err instanceof OpenAI.APIError)) throw err;
      return { status: err.status ?? 0, code: err.code, body: err.error, ms: performance.now() - started };
    }
  }

  async function readiness() {
    const res = await request(`${gateway!.url}/ready`);
    return { status: res.statusCode, body: (await res.body.json()) as { status: string; checks: Record<string, string> } };
  }

  async function ledgerRows(orgId: string): Promise<{ rows: number; tokens: number }> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ rows: number; tokens: number }>(
        'select count(*)::int as rows, coalesce(sum(prompt_tokens + completion_tokens), 0)::int as tokens from usage_events where org_id = $1',
        [orgId],
      );
      return rows[0]!;
    } finally {
      await client.end();
    }
  }

  it('fails closed with a quick 503 budget_unavailable, reports not_ready, and recovers once Redis is back', { timeout: 60_000 }, async () => {
    const { orgId, client } = await start('closed');
    let served = 0;
    expect((await chat(client, served)).status).toBe(200);
    served++;
    await expect.poll(() => ledgerRows(orgId), { timeout: 5_000 }).toEqual({ rows: 1, tokens: 10 });

    await redis.kill();
    // Several seconds of outage, so the client's reconnect backoff has grown: still a quick 503.
    const outage: Array<Awaited<ReturnType<typeof chat>> & { sentAfterMs: number }> = [];
    for (const killedAt = performance.now(); performance.now() - killedAt < 5_000; ) {
      const sentAfterMs = performance.now() - killedAt;
      outage.push({ ...(await chat(client, served + outage.length)), sentAfterMs });
    }
    // A request that reaches the gateway before its Redis connection has reported the close is
    // admitted against the slice the replica already holds: budget taken before the outage, so
    // nothing is overspent, and its usage goes to the ledger through the in-process queue. Only
    // requests in that first moment may be served.
    const servedFromSlice = outage.findIndex((r) => r.status !== 200);
    expect(servedFromSlice, 'every request was served while Redis was down').toBeGreaterThanOrEqual(0);
    for (const res of outage.slice(0, servedFromSlice)) expect(res.sentAfterMs).toBeLessThan(250);
    served += servedFromSlice;
    const refused = outage.slice(servedFromSlice);
    process.stdout.write(`redis-down (closed): ${servedFromSlice} served from the slice, then 503 after ${refused.map((r) => Math.round(r.ms)).join(', ')} ms\n`);
    expect(refused.length).toBeGreaterThan(0);
    for (const res of refused) {
      expect(res).toMatchObject({ status: 503, code: 'budget_unavailable', body: { code: 'budget_unavailable' } });
      expect(res.ms).toBeLessThan(2_500);
    }
    expect(await readiness()).toMatchObject({ status: 503, body: { status: 'not_ready' } });
    expect((await readiness()).body.checks.redis).not.toBe('ok');

    await redis.start();
    const backAt = performance.now();
    await expect.poll(async () => (await chat(client, served)).status, { timeout: 8_000, interval: 200 }).toBe(200);
    process.stdout.write(`redis-down (closed): serving again ${Math.round(performance.now() - backAt)} ms after Redis restarted\n`);
    served++;
    for (let n = 0; n < 4; n++, served++) expect((await chat(client, served)).status).toBe(200);
    await expect.poll(async () => (await readiness()).body.status, { timeout: 5_000 }).toBe('ready');
    // Every answered request is in the ledger exactly once, including those after the restart
    // (the restarted Redis had lost the stream and its consumer group).
    await expect.poll(() => ledgerRows(orgId), { timeout: 10_000 }).toEqual({ rows: served, tokens: served * 10 });
  });

  it('fails open: serves every request while Redis is down and still records their usage in Postgres', { timeout: 60_000 }, async () => {
    await redis.start();
    const { orgId, client } = await start('open', { TOLLGATE_BUDGET__FAILURE_MODE: 'open' });
    let served = 0;
    expect((await chat(client, served++)).status).toBe(200);
    // Settled into the Redis stream; flushed before the kill (a Redis without persistence would
    // take it down with it: production runs AOF, see DESIGN).
    await expect.poll(() => ledgerRows(orgId), { timeout: 5_000 }).toEqual({ rows: 1, tokens: 10 });

    await redis.kill();
    const during = [];
    for (let n = 0; n < 6; n++, served++) during.push(await chat(client, served));
    expect(during.map((r) => r.status)).toEqual(Array(6).fill(200));
    process.stdout.write(`redis-down (open): latency while Redis was down ${during.map((r) => Math.round(r.ms)).join(', ')} ms\n`);
    // The fail-open usage went around Redis, straight to the ledger.
    await expect.poll(() => ledgerRows(orgId), { timeout: 10_000 }).toEqual({ rows: served, tokens: served * 10 });

    await redis.start();
    await sleep(500);
    for (let n = 0; n < 4; n++, served++) expect((await chat(client, served)).status).toBe(200);
    await expect.poll(() => ledgerRows(orgId), { timeout: 10_000 }).toEqual({ rows: served, tokens: served * 10 });
  });
});
