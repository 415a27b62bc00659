// One contract for the budget engine, run against real Redis (Lua scripts) and the in-process twin:
// both must give the same answers for every metric, window, scope chain, clamp, lease and crossing.
import { randomBytes } from 'node:crypto';
import { type Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogModel } from '../../src/config/catalog.js';
import { createBudgetEngine, type BudgetEngine, type LedgerTotals, type Reservation, type ReserveOutcome } from '../../src/budget/engine.js';
import { orgTag, usageStreamKey } from '../../src/budget/keys.js';
import { createMemoryBudgetStore } from '../../src/budget/memory-store.js';
import { compileBudgetRules, type BudgetPrincipal } from '../../src/budget/plan.js';
import { startBudgetReaper } from '../../src/budget/reaper.js';
import { createRedisBudgetStore } from '../../src/budget/redis-store.js';
import { budgetConfigSchema, type BudgetConfigInput } from '../../src/budget/rules.js';
import type { BudgetStore } from '../../src/budget/store.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { type RedisClusterFixture, redisServerProblem, startRedisCluster } from '../helpers/redis-cluster.js';
import { redisAvailable, redisUrl } from '../helpers/services.js';

// Redis db 11 and a random prefix: other suites share this Redis.
const redisDb = 11;
const prefix = `tgtest:budget:${randomBytes(4).toString('hex')}:`;
const redisUp = await redisAvailable();
// A 3-master Redis Cluster of this file's own: every org's keys must stay in its slot.
const clusterProblem = redisServerProblem();
if (clusterProblem) process.stdout.write(`skipping the Redis Cluster backend: ${clusterProblem}\n`);
const redisCluster: RedisClusterFixture | undefined = clusterProblem ? undefined : await startRedisCluster();

const model: CatalogModel = {
  name: 'test-model',
  provider: 'openai',
  upstreamModel: 'test-model',
  encoding: 'o200k_base',
  contextWindow: 128_000,
  maxOutputTokens: 4_096,
  // $3 in, $15 out, $3.75 cache writes per 1M tokens.
  price: { inputPerMTok: 3_000_000, cachedInputPerMTok: 300_000, cacheWritePerMTok: 3_750_000, outputPerMTok: 15_000_000 },
};
const freeModel: CatalogModel = { ...model, price: { inputPerMTok: 0, cachedInputPerMTok: 0, cacheWritePerMTok: 0, outputPerMTok: 0 } };

const t0 = Date.parse('2024-05-15T12:00:00Z');

interface Harness {
  readonly engine: BudgetEngine;
  readonly store: BudgetStore;
  // Usage recorded so far, whether still in the store's stream or already in the ledger.
  events(orgId: string): Promise<UsageEvent[]>;
  // What a Redis restart without persistence, or an embedded restart, does to this org: every
  // counter, record and lease is gone; the ledger keeps the usage.
  loseState(orgId: string): Promise<void>;
}

// The ledger's totals over recorded events, as src/usage/ledger-totals.ts computes them in SQL
// (its own test runs those queries on a real database).
const ledgerOver = (events: (orgId: string) => Promise<UsageEvent[]>): LedgerTotals => async (orgId, buckets, untilMs) => {
  const all = (await events(orgId)).filter((e) => e.timeMs <= untilMs);
  return buckets.map((b) => {
    const { scope, scopeId } = b.ref;
    const ofScope = all.filter((e) => e.timeMs >= b.ledgerFromMs! && (scope === 'org' || (scope === 'key' ? e.keyId : scope === 'user' ? e.userId : e.teamId) === scopeId));
    return ofScope.reduce((sum, e) => sum + (b.measure === 'tokens' ? e.promptTokens + e.completionTokens : b.measure === 'costMicros' ? e.costMicros : 1), 0);
  });
};

// Several replicas sharing one store, each with its own slices, on a clock the test moves.
interface Replicas {
  readonly engines: BudgetEngine[];
  // What the replicas asked of the store, per method (counted above each replica's own store).
  readonly calls: Map<string, number>;
  readonly store: BudgetStore;
  events(orgId: string): Promise<UsageEvent[]>;
}

interface Backend {
  readonly name: string;
  readonly available: boolean;
  harness(config: BudgetConfigInput): Harness;
  replicas(config: BudgetConfigInput, count: number, clock: () => number, minRequests: number): Replicas;
}

// Small slices, so a test needs few requests to see them; idle ones go back after a second.
const sliceOptions = (holderId: string, minRequests: number) => ({ holderId, idleMs: 1_000, minRequests });

const counting = (store: BudgetStore, calls: Map<string, number>): BudgetStore =>
  Object.fromEntries(
    Object.entries(store).map(([name, value]) => [
      name,
      typeof value === 'function'
        ? (...args: unknown[]) => {
            calls.set(name, (calls.get(name) ?? 0) + 1);
            return (value as (...a: unknown[]) => unknown)(...args);
          }
        : value,
    ]),
  ) as unknown as BudgetStore;

const replicaEngines = (stores: BudgetStore[], input: BudgetConfigInput, clock: () => number, events: (orgId: string) => Promise<UsageEvent[]>, calls: Map<string, number>, minRequests: number) => {
  const config = budgetConfigSchema.parse(input);
  return stores.map((store, i) =>
    createBudgetEngine({
      store: counting(store, calls),
      ledger: ledgerOver(events),
      rules: compileBudgetRules({ ...config, keyPrefix: prefix }),
      config,
      slices: sliceOptions(`replica-${i}-${randomBytes(3).toString('hex')}`, minRequests),
      clock,
      onUnrecordedUsage: () => {},
    }),
  );
};

let redis: Redis | undefined;
let clusterClient: Cluster | undefined;

const backends: Backend[] = [
  {
    name: 'in-process twin',
    available: true,
    harness(input) {
      const config = budgetConfigSchema.parse(input);
      const recorded: UsageEvent[] = [];
      const events = async (orgId: string) => recorded.filter((e) => e.orgId === orgId);
      const start = () => {
        const store = createMemoryBudgetStore({ keyPrefix: prefix, recordRetentionMs: config.recordRetentionMs, onUsageEvent: (e) => recorded.push(e) });
        const engine = createBudgetEngine({ store, ledger: ledgerOver(events), rules: compileBudgetRules({ ...config, keyPrefix: prefix }), config, onUnrecordedUsage: () => {} });
        return { store, engine };
      };
      let running = start();
      return {
        get engine() {
          return running.engine;
        },
        get store() {
          return running.store;
        },
        events,
        // The process restarts: a new store, the ledger (PGlite) as it was.
        loseState: async () => {
          running = start();
        },
      };
    },
    replicas(input, count, clock, minRequests) {
      const config = budgetConfigSchema.parse(input);
      const recorded: UsageEvent[] = [];
      const events = async (orgId: string) => recorded.filter((e) => e.orgId === orgId);
      // One process's state stands in for the shared Redis.
      const store = createMemoryBudgetStore({ keyPrefix: prefix, recordRetentionMs: config.recordRetentionMs, onUsageEvent: (e) => recorded.push(e) });
      const calls = new Map<string, number>();
      return { engines: replicaEngines(Array.from({ length: count }, () => store), input, clock, events, calls, minRequests), calls, store, events };
    },
  },
  redisBackend('redis', redisUp, () => redis!),
  redisBackend('redis cluster', redisCluster !== undefined, () => clusterClient!),
];

// Keys matching a pattern on every master (one node, unless it is a cluster).
async function keysMatching(client: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = 'nodes' in client ? client.nodes('master') : [client];
  return (await Promise.all(nodes.map((n) => n.keys(pattern)))).flat();
}

// Every `e` field of every entry: a flush or an append writes its batch as one entry.
const streamEvents = (entries: Array<[string, string[]]>): UsageEvent[] =>
  entries.flatMap(([, fields]) => fields.flatMap((f, i) => (i % 2 === 0 && f === 'e' ? [JSON.parse(fields[i + 1]!) as UsageEvent] : [])));

function redisBackend(name: string, available: boolean, connection: () => Redis | Cluster): Backend {
  return {
    name,
    available,
    harness(input) {
      const config = budgetConfigSchema.parse(input);
      const client = connection();
      // Events the flusher had written to Postgres before Redis lost its data.
      const flushed: UsageEvent[] = [];
      const events = async (orgId: string) => {
        const entries = await client.xrange(usageStreamKey(prefix, orgId), '-', '+');
        return [...flushed.filter((e) => e.orgId === orgId), ...streamEvents(entries)];
      };
      const store = createRedisBudgetStore({ redis: client, keyPrefix: prefix, recordRetentionMs: config.recordRetentionMs, batchWindowMs: 2, usageFlushMs: 2 });
      const engine = createBudgetEngine({ store, ledger: ledgerOver(events), rules: compileBudgetRules({ ...config, keyPrefix: prefix }), config, onUnrecordedUsage: () => {} });
      return {
        engine,
        store,
        events,
        async loseState(orgId) {
          flushed.push(...(await events(orgId)));
          const keys = await keysMatching(client, `${orgTag(prefix, orgId)}*`);
          if (keys.length > 0) await client.unlink(...keys);
        },
      };
    },
    replicas(input, count, clock, minRequests) {
      const config = budgetConfigSchema.parse(input);
      const client = connection();
      const events = async (orgId: string) => streamEvents(await client.xrange(usageStreamKey(prefix, orgId), '-', '+'));
      const stores = Array.from({ length: count }, () => createRedisBudgetStore({ redis: client, keyPrefix: prefix, recordRetentionMs: config.recordRetentionMs, batchWindowMs: 0, usageFlushMs: 0 }));
      const calls = new Map<string, number>();
      return { engines: replicaEngines(stores, input, clock, events, calls, minRequests), calls, store: stores[0]!, events };
    },
  };
}

beforeAll(() => {
  if (redisUp) redis = new Redis(redisUrl, { db: redisDb, enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  clusterClient = redisCluster?.client();
});

afterAll(async () => {
  await redisCluster?.stop();
  if (!redis) return;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length > 0) await redis.unlink(...keys);
  redis.disconnect();
});

let orgCounter = 0;
const newPrincipal = (teamIds: string[] = ['team-a']): BudgetPrincipal => {
  orgCounter += 1;
  const orgId = `org-${orgCounter}-${randomBytes(3).toString('hex')}`;
  return { orgId, teamIds, userId: 'user-1', keyId: 'key-1' };
};

let requestCounter = 0;

function usageEvent(principal: BudgetPrincipal, requestId: string, promptTokens: number, completionTokens: number, costMicros = 0): UsageEvent {
  return {
    requestId,
    timeMs: t0,
    orgId: principal.orgId,
    teamId: principal.teamIds[0] ?? null,
    userId: principal.userId,
    keyId: principal.keyId,
    provider: 'openai',
    model: model.name,
    promptTokens,
    cachedTokens: 0,
    completionTokens,
    reasoningTokens: 0,
    costMicros,
    status: 200,
    errorCode: null,
    stream: false,
    latencyMs: 5,
    ttfbMs: null,
    estimated: false,
    sessionId: null,
    tags: {},
  };
}

for (const backend of backends) {
  describe.skipIf(!backend.available)(`budget engine on ${backend.name}`, () => {
    const setup = (config: BudgetConfigInput) => {
      const h = backend.harness(config);
      const reserve = (
        principal: BudgetPrincipal,
        promptTokens: number,
        maxOutputTokens: number,
        nowMs = t0,
        options: { sessionId?: string | null; model?: CatalogModel; requestId?: string } = {},
      ): Promise<ReserveOutcome> =>
        h.engine.reserve({
          requestId: options.requestId ?? `req-${++requestCounter}`,
          principal,
          sessionId: options.sessionId ?? null,
          model: options.model ?? freeModel,
          promptTokens: () => promptTokens,
          maxOutputTokens,
          nowMs,
        });
      const reserved = async (...args: Parameters<typeof reserve>): Promise<Reservation> => {
        const outcome = await reserve(...args);
        if (!outcome.ok) throw new Error(`expected a reservation, got ${JSON.stringify(outcome)}`);
        return outcome.reservation;
      };
      const settle = (principal: BudgetPrincipal, r: Reservation, promptTokens: number, completionTokens: number, costMicros = 0, nowMs = t0) =>
        h.engine.settle(r, usageEvent(principal, r.id, promptTokens, completionTokens, costMicros), nowMs);
      // Exactly `tokens` still fit: one more is refused (refusals debit nothing), then these are taken.
      const expectTokensLeft = async (principal: BudgetPrincipal, tokens: number, nowMs = t0) => {
        expect((await reserve(principal, tokens + 1, 0, nowMs)).ok).toBe(false);
        if (tokens > 0) expect((await reserve(principal, tokens, 0, nowMs)).ok).toBe(true);
      };
      // Getters: after loseState the harness holds a new engine and store.
      return {
        get engine() {
          return h.engine;
        },
        get store() {
          return h.store;
        },
        events: h.events,
        loseState: h.loseState,
        reserve,
        reserved,
        settle,
        expectTokensLeft,
      };
    };

    describe('metrics', () => {
      it("refuses a request whose prompt plus max output would exceed the user's daily token budget", async () => {
        const b = setup({ budgets: [{ scope: 'user', scopeId: 'user-1', metric: 'tokens', window: 'day', limit: 1_000 }] });
        const p = newPrincipal();
        expect((await b.reserve(p, 200, 600)).ok).toBe(true);
        const refused = await b.reserve(p, 200, 201);
        expect(refused).toMatchObject({
          ok: false,
          code: 'budget_exceeded',
          bucket: { scope: 'user', scopeId: 'user-1', metric: 'tokens', window: 'day' },
          retryAfterMs: Date.parse('2024-05-16T00:00:00Z') - t0,
          headers: { 'retry-after': String(12 * 3600), 'x-ratelimit-limit-tokens': '1000', 'x-ratelimit-remaining-tokens': '0' },
        });
        await b.expectTokensLeft(p, 200);
      });

      it('reserves the most a request can cost and settles its real cost in micro-USD', async () => {
        const b = setup({ budgets: [{ scope: 'org', scopeId: '*', metric: 'costMicros', window: 'month', limit: 100_000 }] });
        const p = newPrincipal();
        // 1 000 prompt tokens at the cache-write price + 4 000 output tokens: 3 750 + 60 000 micro-USD.
        const first = await b.reserve(p, 1_000, 4_000, t0, { model });
        expect(first).toMatchObject({ ok: true, headers: { 'x-ratelimit-limit-cost-micros': '100000', 'x-ratelimit-remaining-cost-micros': '36250' } });
        expect((await b.reserve(p, 1_000, 4_000, t0, { model })).ok).toBe(false);
        if (!first.ok) return;
        await b.settle(p, first.reservation, 1_000, 100, 4_500);
        const second = await b.reserve(p, 1_000, 4_000, t0, { model });
        expect(second).toMatchObject({ ok: true, headers: { 'x-ratelimit-remaining-cost-micros': String(100_000 - 4_500 - 63_750) } });
      });

      it('reads a bucket without changing it: reserved while open, used once settled, zero when absent', async () => {
        const config = { budgets: [{ scope: 'user' as const, scopeId: '*', metric: 'tokens' as const, window: 'day' as const, limit: 1_000 }] };
        const b = setup(config);
        const p = newPrincipal();
        const [bucket] = compileBudgetRules({ ...budgetConfigSchema.parse(config), keyPrefix: prefix }).plan(p, null, t0);
        expect(await b.store.peek(p.orgId, [bucket!.key], t0)).toEqual([{ used: 0, reserved: 0 }]);
        const r = await b.reserved(p, 100, 50);
        expect(await b.store.peek(p.orgId, [bucket!.key], t0)).toEqual([{ used: 0, reserved: 150 }]);
        await b.settle(p, r, 100, 20);
        expect(await b.store.peek(p.orgId, [bucket!.key, `${bucket!.key}:absent`], t0)).toEqual([{ used: 120, reserved: 0 }, { used: 0, reserved: 0 }]);
        await b.expectTokensLeft(p, 880);
      });

      it('counts requests: the request past the hourly limit is refused until the next hour', async () => {
        const b = setup({ budgets: [{ scope: 'key', scopeId: 'key-1', metric: 'requests', window: 'hour', limit: 3 }] });
        const p = newPrincipal();
        for (let i = 0; i < 3; i++) expect((await b.reserve(p, 10, 10)).ok).toBe(true);
        expect(await b.reserve(p, 10, 10, t0 + 1_800_000)).toMatchObject({ ok: false, code: 'budget_exceeded', retryAfterMs: 1_800_000 });
        expect((await b.reserve(p, 10, 10, t0 + 3_600_000)).ok).toBe(true);
      });

      it('charges actual tokens at settle and returns the unused part of the reservation', async () => {
        const b = setup({ budgets: [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'total', limit: 1_000 }] });
        const p = newPrincipal();
        const r = await b.reserved(p, 100, 900);
        expect(await b.settle(p, r, 100, 250)).toMatchObject({ status: 'settled' });
        await b.expectTokensLeft(p, 650);
      });

      it('never overspends when many requests race for the last of a budget', async () => {
        const b = setup({ budgets: [{ scope: 'team', scopeId: 'team-a', metric: 'tokens', window: 'day', limit: 500 }] });
        const p = newPrincipal();
        const outcomes = await Promise.all(Array.from({ length: 120 }, () => b.reserve(p, 5, 5)));
        expect(outcomes.filter((o) => o.ok)).toHaveLength(50);
        await b.expectTokensLeft(p, 0);
      });
    });

    describe('scopes', () => {
      it('debits nothing when any one bucket refuses: all or nothing', async () => {
        const b = setup({
          budgets: [
            { scope: 'key', scopeId: '*', metric: 'tokens', window: 'day', limit: 1_000 },
            { scope: 'user', scopeId: 'user-1', metric: 'tokens', window: 'day', limit: 150 },
          ],
        });
        const p = newPrincipal();
        expect((await b.reserve(p, 100, 0)).ok).toBe(true);
        expect(await b.reserve(p, 100, 0)).toMatchObject({ ok: false, bucket: { scope: 'user', scopeId: 'user-1' } });
        // The refused request left the key's tokens alone: 900 are left, not 800.
        await b.expectTokensLeft({ ...p, userId: 'user-2' }, 900);
      });

      it('charges every team up the parent chain, so sibling teams share their parent budget', async () => {
        const b = setup({ budgets: [{ scope: 'team', scopeId: 'parent', metric: 'tokens', window: 'day', limit: 1_000 }] });
        const alice = newPrincipal(['child-1', 'parent']);
        const bob: BudgetPrincipal = { ...alice, teamIds: ['child-2', 'parent'], userId: 'user-2', keyId: 'key-2' };
        expect((await b.reserve(alice, 300, 300)).ok).toBe(true);
        expect(await b.reserve(bob, 300, 101)).toMatchObject({ ok: false, bucket: { scope: 'team', scopeId: 'parent' } });
        expect((await b.reserve(bob, 300, 100)).ok).toBe(true);
      });

      it("lets a rule naming an id replace the '*' rule for that id", async () => {
        const b = setup({
          budgets: [
            { scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 100 },
            { scope: 'user', scopeId: 'vip', metric: 'tokens', window: 'day', limit: 10_000 },
          ],
        });
        const p = newPrincipal();
        const vip = { ...p, userId: 'vip' };
        expect((await b.reserve(p, 50, 51)).ok).toBe(false);
        expect((await b.reserve(vip, 5_000, 5_000)).ok).toBe(true);
      });

      it('applies a session budget separately to each x-session-id, and not without one', async () => {
        const b = setup({ budgets: [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'session', limit: 100 }] });
        const p = newPrincipal();
        expect((await b.reserve(p, 100, 0, t0, { sessionId: 's1' })).ok).toBe(true);
        expect(await b.reserve(p, 1, 0, t0, { sessionId: 's1' })).toMatchObject({ ok: false, bucket: { window: 'session' }, retryAfterMs: null });
        expect((await b.reserve(p, 100, 0, t0, { sessionId: 's2' })).ok).toBe(true);
        expect((await b.reserve(p, 1_000, 0, t0, { sessionId: null })).ok).toBe(true);
      });
    });

    describe('windows', () => {
      it("resets a daily budget at midnight in the budget's time zone, not at UTC midnight", async () => {
        const b = setup({ budgets: [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 100, timezone: 'America/New_York' }] });
        const p = newPrincipal();
        // 19:30 on the 9th in New York is already 00:30 UTC on the 10th.
        expect((await b.reserve(p, 100, 0, Date.parse('2024-03-09T19:30:00-05:00'))).ok).toBe(true);
        expect(await b.reserve(p, 1, 0, Date.parse('2024-03-09T23:30:00-05:00'))).toMatchObject({ ok: false, retryAfterMs: 30 * 60_000 });
        // Midnight local (05:00 UTC) opens the 10th, the day clocks spring forward (a 23-hour day).
        await b.expectTokensLeft(p, 100, Date.parse('2024-03-10T00:00:00-05:00'));
        expect(await b.reserve(p, 1, 0, Date.parse('2024-03-10T23:59:59-04:00'))).toMatchObject({ ok: false, retryAfterMs: 1_000 });
        await b.expectTokensLeft(p, 100, Date.parse('2024-03-11T00:00:00-04:00'));
      });

      it("rolls a monthly budget over at the local start of the month, hours before UTC's", async () => {
        const b = setup({ budgets: [{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'month', limit: 100, timezone: 'Australia/Sydney' }] });
        const p = newPrincipal();
        expect((await b.reserve(p, 100, 0, Date.parse('2024-01-31T12:59:59Z'))).ok).toBe(true);
        expect((await b.reserve(p, 1, 0, Date.parse('2024-01-31T12:59:59Z'))).ok).toBe(false);
        // 13:00 UTC on 31 January is midnight on 1 February in Sydney (UTC+11 in summer).
        await b.expectTokensLeft(p, 100, Date.parse('2024-01-31T13:00:00Z'));
      });

      it('keeps a total budget forever and gives no Retry-After when it is spent', async () => {
        const b = setup({ budgets: [{ scope: 'key', scopeId: '*', metric: 'requests', window: 'total', limit: 1 }] });
        const p = newPrincipal();
        expect((await b.reserve(p, 1, 1)).ok).toBe(true);
        const refused = await b.reserve(p, 1, 1, t0 + 400 * 86_400_000);
        expect(refused).toMatchObject({ ok: false, retryAfterMs: null });
        expect(refused.headers['retry-after']).toBeUndefined();
      });
    });

    describe('rate and concurrency limits', () => {
      it('spreads rpm smoothly: a burst of the limit, then one request per 60/rpm seconds', async () => {
        const b = setup({ limits: [{ scope: 'key', scopeId: '*', rpm: 6 }] });
        const p = newPrincipal();
        for (let i = 0; i < 6; i++) expect((await b.reserve(p, 1, 1)).ok).toBe(true);
        expect(await b.reserve(p, 1, 1)).toMatchObject({
          ok: false,
          code: 'rate_limited',
          bucket: { scope: 'key', metric: 'requests', window: 'per_minute' },
          retryAfterMs: 10_000,
          headers: { 'retry-after': '10', 'x-ratelimit-remaining-requests': '0' },
        });
        expect((await b.reserve(p, 1, 1, t0 + 9_999)).ok).toBe(false);
        expect((await b.reserve(p, 1, 1, t0 + 10_000)).ok).toBe(true);
        expect((await b.reserve(p, 1, 1, t0 + 10_000)).ok).toBe(false);
      });

      it('limits tokens per minute and gives back what a settled request did not use', async () => {
        const b = setup({ limits: [{ scope: 'user', scopeId: '*', tpm: 6_000 }] });
        const p = newPrincipal();
        const r = await b.reserved(p, 1_000, 5_000);
        expect(await b.reserve(p, 1, 0)).toMatchObject({ ok: false, code: 'rate_limited', retryAfterMs: 10 });
        await b.settle(p, r, 1_000, 1_000);
        expect(await b.reserve(p, 4_000, 0)).toMatchObject({ ok: true, headers: { 'x-ratelimit-remaining-tokens': '0' } });
        expect(await b.reserve(p, 100_000, 0)).toMatchObject({ ok: false, retryAfterMs: null });
      });

      it('caps requests in flight and frees a slot when one settles', async () => {
        const b = setup({ limits: [{ scope: 'key', scopeId: '*', concurrency: 2 }] });
        const p = newPrincipal();
        const first = await b.reserved(p, 1, 1);
        await b.reserved(p, 1, 1);
        expect(await b.reserve(p, 1, 1)).toMatchObject({ ok: false, code: 'rate_limited', bucket: { metric: 'concurrency', window: 'in_flight' } });
        await b.settle(p, first, 1, 1);
        expect((await b.reserve(p, 1, 1)).ok).toBe(true);
      });
    });

    describe('clamp', () => {
      it('lowers max output tokens to what the token budget has left instead of refusing', async () => {
        const b = setup({ budgets: [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 1_000, clamp: true }] });
        const p = newPrincipal();
        expect((await b.reserve(p, 100, 600)).ok).toBe(true);
        expect(await b.reserve(p, 100, 600)).toMatchObject({ ok: true, maxOutputTokens: 200, clamped: true, reservation: { maxOutputTokens: 200 } });
        await b.expectTokensLeft(p, 0);
      });

      it('clamps a cost budget to the output tokens the remaining money buys', async () => {
        const b = setup({ clamp: true, budgets: [{ scope: 'org', scopeId: '*', metric: 'costMicros', window: 'day', limit: 10_000 }] });
        const p = newPrincipal();
        // 1 000 prompt tokens reserve 3 750 micro-USD; 6 250 left buy 416 output tokens at 15 micro-USD each.
        expect(await b.reserve(p, 1_000, 4_000, t0, { model })).toMatchObject({ ok: true, maxOutputTokens: 416, clamped: true });
        expect(await b.reserve(p, 1, 1, t0, { model })).toMatchObject({ ok: false, code: 'budget_exceeded' });
      });

      it('refuses when clamping would leave fewer output tokens than minOutputTokens', async () => {
        const b = setup({ minOutputTokens: 50, budgets: [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 1_000, clamp: true }] });
        const p = newPrincipal();
        expect((await b.reserve(p, 951, 100)).ok).toBe(false);
        expect(await b.reserve(p, 950, 100)).toMatchObject({ ok: true, maxOutputTokens: 50 });
      });

      it('refuses rather than clamps when the budget does not clamp', async () => {
        const b = setup({ clamp: true, budgets: [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 1_000, clamp: false }] });
        const p = newPrincipal();
        expect((await b.reserve(p, 100, 1_000)).ok).toBe(false);
      });
    });

    describe('leases', () => {
      const budgets = [{ scope: 'user' as const, scopeId: '*', metric: 'tokens' as const, window: 'day' as const, limit: 1_000 }];

      it('returns a crashed reservation once its lease has passed', async () => {
        const b = setup({ leaseMs: 60_000, budgets });
        const p = newPrincipal();
        await b.reserved(p, 500, 500);
        expect(await b.store.reapExpired(p.orgId, t0 + 59_999, 100)).toBe(0);
        await b.expectTokensLeft(p, 0, t0 + 59_999);
        expect(await b.store.reapExpired(p.orgId, t0 + 60_000, 100)).toBe(1);
        await b.expectTokensLeft(p, 1_000, t0 + 60_000);
      });

      it('never reaps a long stream that keeps renewing its lease', async () => {
        const b = setup({ leaseMs: 60_000, budgets });
        const p = newPrincipal();
        let now = t0;
        const r = await b.reserved(p, 500, 500, now);
        // Ten minutes of streaming, renewing every 20 s, with the reaper running every 5 s.
        const reaper = startBudgetReaper({ store: b.store, listOrgIds: async () => [p.orgId], intervalMs: 3_600_000, clock: () => now });
        for (; now < t0 + 600_000; now += 5_000) {
          if ((now - t0) % 20_000 === 0) expect(await b.engine.renew(r, now)).toBe(true);
          expect(await reaper.runOnce()).toBe(0);
        }
        await reaper.stop();
        expect(await b.settle(p, r, 500, 400, 0, now)).toMatchObject({ status: 'settled' });
        await b.expectTokensLeft(p, 100, now);
      });

      it('charges a settle that arrives after the reaper once, without returning the reservation twice', async () => {
        const b = setup({ leaseMs: 60_000, budgets });
        const p = newPrincipal();
        const crashed = await b.reserved(p, 250, 250, t0);
        const live = await b.reserved(p, 150, 150, t0 + 30_000);
        expect(await b.store.reapExpired(p.orgId, t0 + 60_000, 100)).toBe(1);
        expect(await b.engine.renew(crashed, t0 + 61_000)).toBe(false);
        expect(await b.settle(p, crashed, 250, 50, 0, t0 + 61_000)).toMatchObject({ status: 'late' });
        // 300 used by the late settle, 300 still reserved by the live request.
        await b.expectTokensLeft(p, 400, t0 + 61_000);
        expect(await b.settle(p, live, 150, 0, 0, t0 + 61_000)).toMatchObject({ status: 'settled' });
      });

      it('settles idempotently by reservation id and appends the usage event once', async () => {
        const b = setup({ budgets });
        const p = newPrincipal();
        const r = await b.reserved(p, 100, 400);
        expect(await b.settle(p, r, 100, 100)).toMatchObject({ status: 'settled' });
        expect(await b.settle(p, r, 100, 100)).toMatchObject({ status: 'duplicate', crossings: [] });
        expect(await b.store.reapExpired(p.orgId, t0 + 3_600_000, 100)).toBe(0);
        await b.expectTokensLeft(p, 800);
        const events = await b.events(p.orgId);
        expect(events.map((e) => e.requestId)).toEqual([r.id]);
        expect(events[0]).toMatchObject({ promptTokens: 100, completionTokens: 100, orgId: p.orgId });
      });

      // Settles finishing together share one store call: each must still be answered on its own.
      it('settles many reservations at once, each exactly, with its own status and crossings', async () => {
        const b = setup({ budgets: [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 1_000, warnPct: 50, criticalPct: 90 }] });
        const p = newPrincipal();
        const rs = await Promise.all(Array.from({ length: 10 }, () => b.reserved(p, 10, 50)));
        // The same reservation twice in the same breath: one settles, the other is a duplicate.
        const results = await Promise.all([...rs.map((r) => b.settle(p, r, 10, 40)), b.settle(p, rs[0]!, 10, 40)]);
        expect(results.map((r) => r.status).toSorted()).toEqual([...Array(10).fill('settled'), 'duplicate'].toSorted());
        // 10 × 50 = 500 used: exactly one settle crossed the warning line at 500, none went further.
        expect(results.flatMap((r) => r.crossings.map((c) => [c.level, c.used]))).toEqual([['warning', 500]]);
        await b.expectTokensLeft(p, 500);
        expect((await b.events(p.orgId)).map((e) => e.requestId).toSorted()).toEqual(rs.map((r) => r.id).toSorted());
      });

      it('debits nothing again when the same reservation id is reserved twice', async () => {
        const b = setup({ budgets });
        const p = newPrincipal();
        expect((await b.reserve(p, 300, 300, t0, { requestId: `dup-${p.orgId}` })).ok).toBe(true);
        expect(await b.reserve(p, 300, 300, t0, { requestId: `dup-${p.orgId}` })).toMatchObject({ ok: true, maxOutputTokens: 300 });
        await b.expectTokensLeft(p, 400);
      });

      it('records usage even when no budget applies to the request', async () => {
        const b = setup({});
        const p = newPrincipal();
        const outcome = await b.reserve(p, 10, 10);
        expect(outcome).toMatchObject({ ok: true, reservation: { state: 'unmetered' }, headers: {} });
        if (!outcome.ok) return;
        expect(await b.settle(p, outcome.reservation, 10, 10)).toMatchObject({ status: 'settled' });
        expect((await b.events(p.orgId)).map((e) => e.requestId)).toEqual([outcome.reservation.id]);
      });

      it('records every unbudgeted event once when many settle together, each in its own org', async () => {
        const b = setup({});
        const orgs = [newPrincipal(), newPrincipal()];
        const ids = await Promise.all(
          Array.from({ length: 300 }, async (_, i) => {
            const p = orgs[i % 2]!;
            const outcome = await b.reserve(p, 10, 10);
            if (!outcome.ok) throw new Error('refused');
            await b.settle(p, outcome.reservation, 10, 10);
            return { orgId: p.orgId, id: outcome.reservation.id };
          }),
        );
        for (const p of orgs) {
          const recorded = (await b.events(p.orgId)).map((e) => e.requestId);
          expect(recorded.toSorted()).toEqual(ids.filter((r) => r.orgId === p.orgId).map((r) => r.id).toSorted());
        }
      });
    });

    describe('lost state (Redis restarted empty, embedded process restarted)', () => {
      const budgets: BudgetConfigInput['budgets'] = [
        { scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 1_000 },
        { scope: 'org', scopeId: '*', metric: 'requests', window: 'hour', limit: 5 },
        { scope: 'team', scopeId: '*', metric: 'costMicros', window: 'month', limit: 7_500 },
      ];

      it('rebuilds every lost counter from the ledger, so the budgets still hold', async () => {
        const b = setup({ budgets });
        const p = newPrincipal();
        for (const [prompt, completion, cost] of [[200, 100, 3_000], [250, 50, 4_000]] as const) {
          await b.settle(p, await b.reserved(p, prompt, 300), prompt, completion, cost);
        }
        await b.loseState(p.orgId);
        // Before: 600 of 1 000 tokens, 2 of 5 requests, 7 000 of 7 500 micro-USD. This one takes
        // 2 tokens, a request and 18 micro-USD ($3 + $15 per 1M tokens).
        const r = await b.reserve(p, 1, 1, t0, { model });
        expect(r).toMatchObject({ ok: true, headers: { 'x-ratelimit-remaining-requests': '2' } });
        // 600 micro-USD more would pass 7 500 (tokens and requests would still fit).
        expect(await b.reserve(p, 200, 0, t0, { model })).toMatchObject({ ok: false, code: 'budget_exceeded', bucket: { scope: 'team', metric: 'costMicros' } });
        await b.expectTokensLeft(p, 1_000 - 602);
      });

      it('counts the ledger once when several requests rebuild the same counters at once', async () => {
        const b = setup({ budgets: [budgets[0]!] });
        const p = newPrincipal();
        await b.settle(p, await b.reserved(p, 500, 100), 500, 100);
        await b.loseState(p.orgId);
        const racing = await Promise.all([b.reserve(p, 50, 50), b.reserve(p, 50, 50), b.reserve(p, 50, 50)]);
        expect(racing.map((r) => r.ok)).toEqual([true, true, true]);
        await b.expectTokensLeft(p, 1_000 - 600 - 300);
      });

      it('counts the usage a window already holds when its budget is added mid-window', async () => {
        const b = setup({});
        const p = newPrincipal();
        const unmetered = await b.reserved(p, 500, 100);
        await b.settle(p, unmetered, 500, 100);
        b.engine.setRules(compileBudgetRules({ ...budgetConfigSchema.parse({ budgets: [budgets[0]!] }), keyPrefix: prefix }));
        await b.expectTokensLeft(p, 400);
      });

      it('starts a window that began after the loss from zero', async () => {
        const b = setup({ budgets: [budgets[0]!] });
        const p = newPrincipal();
        await b.settle(p, await b.reserved(p, 500, 100), 500, 100);
        await b.loseState(p.orgId);
        await b.expectTokensLeft(p, 400);
        await b.expectTokensLeft(p, 1_000, t0 + 86_400_000);
      });
    });

    describe('crossings', () => {
      it('reports warning, critical and exceeded once each per bucket and window', async () => {
        const b = setup({ budgets: [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 1_000, warnPct: 50, criticalPct: 90 }] });
        const p = newPrincipal();
        const spend = async (tokens: number, nowMs = t0) => {
          const r = await b.reserved(p, tokens, 0, nowMs);
          return (await b.settle(p, r, tokens, 0, 0, nowMs)).crossings.map((c) => c.level);
        };
        expect(await spend(400)).toEqual([]);
        expect(await spend(100)).toEqual(['warning']);
        expect(await spend(100)).toEqual([]);
        expect(await spend(300)).toEqual(['critical']);
        expect(await spend(50)).toEqual([]);
        expect(await spend(50)).toEqual(['exceeded']);
        // The next day is a new window: its crossings are reported afresh, the highest level only.
        const nextDay = t0 + 86_400_000;
        const r = await b.reserved(p, 1_000, 0, nextDay);
        const settled = await b.settle(p, r, 1_000, 0, 0, nextDay);
        expect(settled.crossings).toEqual([
          { bucket: { scope: 'user', scopeId: 'user-1', metric: 'tokens', window: 'day' }, level: 'exceeded', used: 1_000, limit: 1_000, bucketKey: expect.stringContaining(`{org:${p.orgId}}`), resetAtMs: nextDay - (nextDay % 86_400_000) + 86_400_000 },
        ]);
      });

      it('reports exceeded when actual usage runs past the reservation', async () => {
        const b = setup({ budgets: [{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'day', limit: 1_000 }] });
        const p = newPrincipal();
        const r = await b.reserved(p, 100, 100);
        // An estimated prompt corrected upwards at settle.
        expect((await b.settle(p, r, 1_200, 100)).crossings).toMatchObject([{ level: 'exceeded', used: 1_300 }]);
        expect((await b.reserve(p, 1, 0)).ok).toBe(false);
      });
    });
    describe('replica-local slices', () => {
      const tokensPerDay = (limit: number, extra: Partial<BudgetConfigInput['budgets'] extends (infer R)[] | undefined ? R : never> = {}): BudgetConfigInput => ({
        leaseMs: 60_000,
        budgets: [{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'day', limit, ...extra }],
      });
      let now = t0;
      let running: Replicas | undefined;
      const start = (config: BudgetConfigInput, count: number, minRequests = 4) => {
        now = t0;
        running = backend.replicas(config, count, () => now, minRequests);
        return running;
      };
      afterEach(async () => {
        await Promise.all(running?.engines.map((e) => e.stop()) ?? []);
        running = undefined;
      });
      const ask = (engine: BudgetEngine, p: BudgetPrincipal, prompt: number, out: number) =>
        engine.reserve({ requestId: `req-${++requestCounter}`, principal: p, sessionId: null, model: freeModel, promptTokens: () => prompt, maxOutputTokens: out, nowMs: now });
      // Reserves and settles with the real usage; false when refused.
      const serve = async (engine: BudgetEngine, p: BudgetPrincipal, prompt: number, out: number, used = prompt + out) => {
        const outcome = await ask(engine, p, prompt, out);
        if (!outcome.ok) return { ok: false, crossings: [] as string[] };
        const settled = await engine.settle(outcome.reservation, usageEvent(p, outcome.reservation.id, prompt, used - prompt), now);
        return { ok: true, crossings: settled.crossings.map((c) => c.level as string) };
      };
      // Requests arrive on later event-loop turns, as network requests do (the twin answers
      // within the turn, so a loop of them would never let a flush run).
      const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
      const orgBucket = async (r: Replicas, config: BudgetConfigInput, p: BudgetPrincipal) => {
        const [bucket] = compileBudgetRules({ ...budgetConfigSchema.parse(config), keyPrefix: prefix }).plan(p, null, now);
        return (await r.store.peek(p.orgId, [bucket!.key], now))[0]!;
      };
      // A slice is taken after a per-request reservation, off the request's path.
      const sliceTaken = (r: Replicas, config: BudgetConfigInput, p: BudgetPrincipal, atLeast: number) =>
        expect.poll(async () => (await orgBucket(r, config, p)).reserved, { timeout: 2_000, interval: 5 }).toBeGreaterThanOrEqual(atLeast);

      it('admits far from the limit against a local slice, without a store call per request, and charges exactly what was used', async () => {
        const config = tokensPerDay(1_000_000);
        const r = start(config, 1, 64);
        const [a] = r.engines;
        const p = newPrincipal();
        expect((await serve(a!, p, 5, 5)).ok).toBe(true);
        await sliceTaken(r, config, p, 640);
        const reservesBefore = r.calls.get('reserve');
        const outcomes = await Promise.all(Array.from({ length: 40 }, () => ask(a!, p, 5, 5)));
        expect(outcomes.map((o) => o.ok && o.reservation.slices !== undefined)).toEqual(Array(40).fill(true));
        expect(r.calls.get('reserve')).toBe(reservesBefore);
        expect(outcomes[39]).toMatchObject({ headers: { 'x-ratelimit-limit-tokens': '1000000' } });
        // Each used 8 of the 10 it reserved; the settles of one turn leave in one flush.
        const flushesBefore = r.calls.get('flushSlices') ?? 0;
        const settled = await Promise.all(outcomes.map((o) => (o.ok ? a!.settle(o.reservation, usageEvent(p, o.reservation.id, 5, 3), now) : undefined)));
        expect(settled.map((x) => x?.status)).toEqual(Array(40).fill('settled'));
        expect((r.calls.get('flushSlices') ?? 0) - flushesBefore).toBe(1);
        expect((await orgBucket(r, config, p)).used).toBe(10 + 40 * 8);
        expect(await r.events(p.orgId)).toHaveLength(41);
        await a!.stop();
        expect(await orgBucket(r, config, p)).toEqual({ used: 330, reserved: 0 });
      });

      it('admits exactly the limit when two replicas with slices race for it', async () => {
        const config = tokensPerDay(2_000);
        const r = start(config, 2);
        const p = newPrincipal();
        let admitted = 0;
        for (let wave = 0; wave < 150; wave++) {
          await nextTurn();
          const served = await Promise.all(r.engines.map((e) => serve(e, p, 5, 5)));
          admitted += served.filter((x) => x.ok).length;
          const { used, reserved } = await orgBucket(r, config, p);
          expect(used + reserved).toBeLessThanOrEqual(2_000);
        }
        expect(admitted).toBe(200);
        expect((r.calls.get('flushSlices') ?? 0)).toBeGreaterThan(0);
        await Promise.all(r.engines.map((e) => e.stop()));
        expect(await orgBucket(r, config, p)).toEqual({ used: 2_000, reserved: 0 });
      });

      it('admits exactly a rate limit when two replicas with slices race for it', async () => {
        const r = start({ limits: [{ scope: 'key', scopeId: '*', rpm: 400 }] }, 2);
        const p = newPrincipal();
        let admitted = 0;
        for (let wave = 0; wave < 300; wave++) {
          await nextTurn();
          admitted += (await Promise.all(r.engines.map((e) => serve(e, p, 5, 5)))).filter((x) => x.ok).length;
        }
        expect(admitted).toBe(400);
        expect((r.calls.get('takeSlices') ?? 0)).toBeGreaterThan(0);
      });

      it("returns a dead replica's slices through the reaper once its lease has passed, and charges its late settle once", async () => {
        const config = tokensPerDay(1_000_000);
        const r = start(config, 1, 64);
        const [a] = r.engines;
        const p = newPrincipal();
        await serve(a!, p, 5, 5);
        await sliceTaken(r, config, p, 640);
        const open = await ask(a!, p, 5, 5);
        expect(open).toMatchObject({ ok: true, reservation: { slices: expect.anything() } });
        expect(await r.store.reapExpired(p.orgId, t0 + 59_999, 100)).toBe(0);
        expect((await orgBucket(r, config, p)).reserved).toBeGreaterThanOrEqual(640);
        expect(await r.store.reapExpired(p.orgId, t0 + 60_000, 100)).toBe(1);
        expect(await orgBucket(r, config, p)).toEqual({ used: 10, reserved: 0 });
        if (!open.ok) return;
        now = t0 + 61_000;
        expect(await a!.settle(open.reservation, usageEvent(p, open.reservation.id, 5, 5), now)).toMatchObject({ status: 'late' });
        expect(await orgBucket(r, config, p)).toEqual({ used: 20, reserved: 0 });
      });

      it('gives back a slice left unused for the idle time', async () => {
        const config = tokensPerDay(1_000_000);
        const r = start(config, 1, 64);
        const p = newPrincipal();
        await serve(r.engines[0]!, p, 5, 5);
        await sliceTaken(r, config, p, 640);
        now = t0 + 1_000;
        await expect.poll(async () => orgBucket(r, config, p), { timeout: 3_000, interval: 50 }).toEqual({ used: 10, reserved: 0 });
      });

      it('gives back the slices when the rules change, so a lowered limit holds at once', async () => {
        const config = tokensPerDay(1_000_000);
        const r = start(config, 1, 64);
        const p = newPrincipal();
        await serve(r.engines[0]!, p, 5, 5);
        await sliceTaken(r, config, p, 640);
        r.engines[0]!.setRules(compileBudgetRules({ ...budgetConfigSchema.parse(tokensPerDay(15)), keyPrefix: prefix }));
        expect((await ask(r.engines[0]!, p, 5, 5)).ok).toBe(false);
        await expect.poll(async () => orgBucket(r, config, p), { timeout: 2_000, interval: 10 }).toEqual({ used: 10, reserved: 0 });
      });

      it('reports warning, critical and exceeded once each while settles flush in batches', async () => {
        const config = tokensPerDay(1_000, { warnPct: 50, criticalPct: 90 });
        const r = start(config, 2);
        const p = newPrincipal();
        const levels: string[] = [];
        for (let wave = 0; wave < 60; wave++) {
          await nextTurn();
          for (const x of await Promise.all(r.engines.map((e) => serve(e, p, 5, 5)))) levels.push(...x.crossings);
        }
        expect(levels).toEqual(['warning', 'critical', 'exceeded']);
      });
    });
  });
}
