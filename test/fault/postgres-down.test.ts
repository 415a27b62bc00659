// Issue #4's acceptance: two gateway processes under steady load while their Postgres is stopped
// for 20 seconds. The request path must not notice (every request 200, no slowdown), /ready says
// `degraded` while the ledger lags and `ready` once it has caught up, and in the end the ledger
// holds every request exactly once, with the same tokens the mock reported and the Redis budget
// counter charged. The Postgres server is the test's own; the shared one is never touched.
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { createOwnPostgres, ownPostgresProblem, type OwnPostgres } from '../helpers/own-postgres.js';
import { type GatewayProcess, runCli, spawnGateway } from '../helpers/processes.js';
import { redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';
import { available, percentile, sleep } from './support.js';

const ready = (await redisAvailable()) && available('a throwaway Postgres server', ownPostgresProblem());
const requestsPerSecond = 60;
const concurrency = 4;
const beforeOutageMs = 4_000;
const outageMs = 20_000;
const afterOutageMs = 4_000;

interface Sent {
  startedMs: number;
  latencyMs: number;
  status: number | string;
  // What the mock was told to report, and what the client saw in the answer's usage.
  expectedTokens: { prompt: number; completion: number };
  seenTokens?: { prompt: number; completion: number };
}

describe.skipIf(!ready)('gateways under load while Postgres is stopped for 20 seconds', () => {
  let own: OwnPostgres;
  let mock: MockUpstream;
  let redis: Redis;
  let env: Record<string, string>;
  let prefix: string;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    own = await createOwnPostgres();
    const admin = new pg.Client({ connectionString: own.adminUrl });
    await admin.connect();
    await admin.query('create database tollgate');
    await admin.end();
    mock = await startMockUpstream();
    redis = new Redis(redisUrl);
    prefix = uniquePrefix('pgdown');
    env = {
      DATABASE_URL: own.adminUrl.replace(/\/postgres$/, '/tollgate'),
      REDIS_URL: redisUrl,
      TOLLGATE_REDIS_KEY_PREFIX: prefix,
      OPENAI_BASE_URL: `${mock.url}/v1`,
      OPENAI_API_KEY: 'sk-upstream',
      // 'total' rather than a calendar window, so a run across midnight on the 1st has one bucket.
      TOLLGATE_BUDGET__BUDGETS: JSON.stringify([{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'total', limit: 100_000_000 }]),
      TOLLGATE_USAGE__FLUSH_INTERVAL_MS: '50',
      TOLLGATE_USAGE__ORG_REFRESH_MS: '500',
      TOLLGATE_USAGE__MONITOR_INTERVAL_MS: '250',
      TOLLGATE_USAGE__MAX_LAG_MS: '2000',
      TOLLGATE_USAGE__RETRY_MAX_MS: '500',
    };
    const migrated = await runCli(['migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    for (let i = 0; i < 2; i++) gateways.push(await spawnGateway(env));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await mock?.close();
    if (redis && prefix) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis?.disconnect();
    own?.destroy();
  });

  async function orgBucket(orgId: string) {
    const keys = await redis.keys(`${prefix}{org:${orgId}}:b:org:*`);
    expect(keys).toHaveLength(1);
    const [used, reserved] = await redis.hmget(keys[0]!, 'u', 'r');
    return { used: Number(used ?? 0), reserved: Number(reserved ?? 0) };
  }

  async function ledger(orgId: string) {
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      const one = async (text: string) => (await client.query<Record<string, number>>(text, [orgId])).rows[0]!;
      return {
        events: await one(`select count(*)::int as requests, count(distinct request_id)::int as distinct_ids,
          coalesce(sum(prompt_tokens), 0)::int as prompt, coalesce(sum(completion_tokens), 0)::int as completion
          from usage_events where org_id = $1`),
        rollups: await one(`select coalesce(sum(requests), 0)::int as requests, coalesce(sum(requests), 0)::int as distinct_ids,
          coalesce(sum(prompt_tokens), 0)::int as prompt, coalesce(sum(completion_tokens), 0)::int as completion
          from usage_rollups_hourly where org_id = $1`),
      };
    } finally {
      await client.end();
    }
  }

  async function readiness(url: string) {
    const res = await request(`${url}/ready`);
    return { status: res.statusCode, body: (await res.body.json()) as { status: string; checks: Record<string, string> } };
  }

  it('answers every request, reports degraded while the ledger lags, then lands every event exactly once', { timeout: 85_000 }, async () => {
    const created = await runCli(['keys', 'create', '--org', 'acme-pgdown', '--user', 'loader', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { key, orgId } = JSON.parse(created.stdout) as { key: string; orgId: string };
    const clients = gateways.map((g) => new OpenAI({ apiKey: key, baseURL: `${g.url}/v1`, maxRetries: 0, timeout: 10_000 }));

    // Each request asks the mock for its own usage, so the expected totals are known exactly.
    async function send(i: number): Promise<Sent> {
      const expectedTokens = { prompt: 5 + (i % 7), completion: 1 + (i % 5) };
      const content = `Request ${i}. [mock chunks=${expectedTokens.completion} delay_ms=2 prompt_tokens=${expectedTokens.prompt}]`;
      // Alternate gateways every request and streaming every other pair, so both kinds reach both.
      const client = clients[i % 2]!;
      const params = { model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user' as const, content }] };
      const startedMs = Date.now();
      const started = performance.now();
      try {
        let usage: OpenAI.CompletionUsage | null | undefined;
        if ((i >> 1) % 2 === 0) {
          usage = (await client.chat.completions.create(params)).usage;
        } else {
          const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
          for await (const chunk of stream) usage = chunk.usage ?? usage;
        }
        const seenTokens = usage ? { prompt: usage.prompt_tokens, completion: usage.completion_tokens } : undefined;
        return { startedMs, latencyMs: performance.now() - started, status: 200, expectedTokens, ...(seenTokens ? { seenTokens } : {}) };
      } catch (err) {
        const status = err instanceof OpenAI.APIError ? (err.status ?? err.message) : (err as Error).message;
        return { startedMs, latencyMs: performance.now() - started, status, expectedTokens };
      }
    }

    // A few requests first (counted like the rest), so start-up costs are not read as slowness.
    const sent: Sent[] = [];
    const warmUp = 8;
    for (let i = 0; i < warmUp; i++) sent.push(await send(i));

    // Paced load: request i starts at t0 + i / rate, taken by whichever of a few workers is free.
    let next = warmUp;
    let loadRunning = true;
    const t0 = Date.now();
    const load = Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (loadRunning) {
          const i = next++;
          const wait = t0 + ((i - warmUp) * 1000) / requestsPerSecond - Date.now();
          if (wait > 0) await sleep(wait);
          if (!loadRunning) break;
          sent.push(await send(i));
        }
      }),
    );

    await sleep(beforeOutageMs);
    const down = Date.now();
    own.stop();
    // Probe /ready on both replicas through the outage.
    const seen: Array<{ status: number; body: { status: string; checks: Record<string, string> } }> = [];
    while (Date.now() - down < outageMs) {
      seen.push(...(await Promise.all(gateways.map((g) => readiness(g.url)))));
      await sleep(250);
    }
    const up = Date.now();
    own.start();
    await sleep(afterOutageMs);
    loadRunning = false;
    await load;

    const during = sent.filter((s) => s.startedMs >= down && s.startedMs < up);
    const before = sent.slice(warmUp).filter((s) => s.startedMs < down);
    const tally = sent.reduce<Record<string, number>>((t, s) => ({ ...t, [String(s.status)]: (t[String(s.status)] ?? 0) + 1 }), {});
    const p = (list: Sent[], q: number) => Math.round(percentile(list.map((s) => s.latencyMs), q) * 10) / 10;
    process.stdout.write(
      `postgres-down: ${sent.length} requests in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${during.length} during the outage; ` +
        `latency before p50 ${p(before, 0.5)} ms p99 ${p(before, 0.99)} ms, during p50 ${p(during, 0.5)} ms p99 ${p(during, 0.99)} ms\n`,
    );

    // The request path never waited for Postgres: all answered, and no slower than a hiccup.
    expect(tally).toEqual({ 200: sent.length });
    expect(during.length).toBeGreaterThan(requestsPerSecond * (outageMs / 1000) * 0.8);
    expect(p(during, 0.99)).toBeLessThan(500);
    for (const s of sent) expect(s.seenTokens).toEqual(s.expectedTokens);

    // Degraded (still in rotation, HTTP 200) once the ledger fell behind, never not_ready.
    expect(seen.some((r) => r.status === 200 && r.body.status === 'degraded' && r.body.checks.usage !== 'ok')).toBe(true);
    expect(seen.filter((r) => r.body.status === 'not_ready')).toEqual([]);

    const expected = {
      requests: sent.length,
      distinct_ids: sent.length,
      prompt: sent.reduce((n, s) => n + s.expectedTokens.prompt, 0),
      completion: sent.reduce((n, s) => n + s.expectedTokens.completion, 0),
    };
    await expect.poll(() => ledger(orgId), { timeout: 30_000, interval: 500 }).toEqual({ events: expected, rollups: expected });
    // Room the gateways still hold as slices goes back once unused for budget.sliceIdleMs (1 s).
    await expect.poll(() => orgBucket(orgId), { timeout: 10_000, interval: 250 }).toEqual({ used: expected.prompt + expected.completion, reserved: 0 });

    for (const g of gateways) {
      await expect.poll(async () => (await readiness(g.url)).body.status, { timeout: 10_000, interval: 250 }).toBe('ready');
      expect(await readiness(g.url)).toMatchObject({ status: 200, body: { checks: { usage: 'ok' } } });
    }
  });
});
