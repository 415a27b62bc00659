// The engine's edges: the failure policy when the store is down, cost parity with src/pricing,
// and the reaper loop. Store behaviour itself is the contract suite's (test/contract).
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { CatalogModel } from '../../src/config/catalog.js';
import { maxCostMicros } from '../../src/pricing/cost.js';
import { createBudgetEngine, type LedgerTotals } from '../../src/budget/engine.js';
import { createMemoryBudgetStore } from '../../src/budget/memory-store.js';
import { compileBudgetRules } from '../../src/budget/plan.js';
import { startBudgetReaper } from '../../src/budget/reaper.js';
import { createRedisBudgetStore } from '../../src/budget/redis-store.js';
import { budgetConfigSchema, type BudgetConfigInput } from '../../src/budget/rules.js';
import { BudgetStoreUnavailableError, type BudgetStore } from '../../src/budget/store.js';
import type { UsageEvent } from '../../src/usage/event.js';

const nowMs = Date.parse('2024-05-15T12:00:00Z');
const principal = { orgId: 'o1', teamIds: [], userId: 'u1', keyId: 'k1' };
const model = {
  name: 'm',
  price: { inputPerMTok: 2_500_000, cachedInputPerMTok: 1_250_000, cacheWritePerMTok: 3_125_000, outputPerMTok: 10_000_000 },
} as CatalogModel;
const budgets: BudgetConfigInput['budgets'] = [{ scope: 'org', scopeId: '*', metric: 'costMicros', window: 'day', limit: 1_000_000 }];
const event = { requestId: 'r1', orgId: 'o1', promptTokens: 10, completionTokens: 5, costMicros: 75 } as UsageEvent;

// A Redis store whose server does not answer: nothing listens on port 1.
function unreachableStore(): { store: BudgetStore; redis: Redis } {
  const redis = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  return { redis, store: createRedisBudgetStore({ redis, keyPrefix: 'tgtest:', recordRetentionMs: 60_000, batchWindowMs: 2, usageFlushMs: 2 }) };
}

const emptyLedger: LedgerTotals = async (_orgId, buckets) => buckets.map(() => 0);

function engineOver(store: BudgetStore, input: BudgetConfigInput, ledger = emptyLedger) {
  const config = budgetConfigSchema.parse(input);
  const unrecorded: UsageEvent[] = [];
  const errors: string[] = [];
  const engine = createBudgetEngine({
    store,
    ledger,
    rules: compileBudgetRules({ ...config, keyPrefix: 'tgtest:' }),
    config,
    onUnrecordedUsage: (e) => unrecorded.push(e),
    onError: (_, context) => errors.push(context),
  });
  return { engine, unrecorded, errors };
}

const reserveInput = { requestId: 'r1', principal, sessionId: null, model, promptTokens: () => 1_000, maxOutputTokens: 2_000, nowMs };

describe('budget engine', () => {
  it('fails closed by default: an unreachable store throws BudgetStoreUnavailableError', async () => {
    const { store, redis } = unreachableStore();
    const { engine } = engineOver(store, { budgets });
    await expect(engine.reserve(reserveInput)).rejects.toBeInstanceOf(BudgetStoreUnavailableError);
    redis.disconnect();
  });

  it('fails open when configured, and hands the served usage to the fallback sink', async () => {
    const { store, redis } = unreachableStore();
    const { engine, unrecorded, errors } = engineOver(store, { budgets, failureMode: 'open' });
    const outcome = await engine.reserve(reserveInput);
    expect(outcome).toMatchObject({ ok: true, maxOutputTokens: 2_000, reservation: { state: 'fail_open' }, headers: {} });
    if (!outcome.ok) return;
    expect(await engine.settle(outcome.reservation, event, nowMs)).toEqual({ status: 'unrecorded', crossings: [] });
    expect(unrecorded).toEqual([event]);
    expect(errors).toEqual(['reserve']);
    redis.disconnect();
  });

  it('applies the failure policy when lost counters cannot be rebuilt because the ledger is down', async () => {
    const ledgerDown: LedgerTotals = async () => {
      throw new Error('connection refused');
    };
    // A fresh store has lost everything of the current window: the first reserve asks for a rebuild.
    const closed = engineOver(createMemoryBudgetStore({ keyPrefix: 'tgtest:', recordRetentionMs: 60_000, onUsageEvent: () => {} }), { budgets }, ledgerDown);
    await expect(closed.engine.reserve(reserveInput)).rejects.toThrow(/usage ledger unreachable.*connection refused/);
    const open = engineOver(createMemoryBudgetStore({ keyPrefix: 'tgtest:', recordRetentionMs: 60_000, onUsageEvent: () => {} }), { budgets, failureMode: 'open' }, ledgerDown);
    expect(await open.engine.reserve(reserveInput)).toMatchObject({ ok: true, reservation: { state: 'fail_open' } });
    expect(open.errors).toEqual(['reserve']);
  });

  it('rebuilds a lost counter once for all the requests that find it lost at the same time', async () => {
    const asked: string[] = [];
    const slowLedger: LedgerTotals = async (_orgId, lost) => {
      asked.push(...lost.map((b) => b.key));
      await new Promise((resolve) => setTimeout(resolve, 20));
      return lost.map(() => 0);
    };
    const { engine } = engineOver(createMemoryBudgetStore({ keyPrefix: 'tgtest:', recordRetentionMs: 60_000, onUsageEvent: () => {} }), { budgets }, slowLedger);
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => engine.reserve({ ...reserveInput, requestId: `r-${i}` })));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(asked).toHaveLength(1);
  });

  it('tries a settle the store could not take again until it lands, so the served request is charged instead of its reservation returned', async () => {
    const events: UsageEvent[] = [];
    const working = createMemoryBudgetStore({ keyPrefix: 'tgtest:', recordRetentionMs: 60_000, onUsageEvent: (e) => events.push(e) });
    let failures = 2;
    const { engine, unrecorded, errors } = engineOver(
      {
        ...working,
        settle: async (request) => {
          if (failures-- > 0) throw new BudgetStoreUnavailableError('node away');
          return working.settle(request);
        },
      },
      { budgets },
    );
    const outcome = await engine.reserve(reserveInput);
    if (!outcome.ok) throw new Error('expected a reservation');
    expect(await engine.settle(outcome.reservation, event, nowMs)).toMatchObject({ status: 'retrying' });
    await expect.poll(() => events, { timeout: 3_000, interval: 50 }).toEqual([event]);
    const [bucket] = await working.peek('o1', [outcome.reservation.debits[0]!.bucket.key], nowMs);
    expect(bucket).toEqual({ used: 75, reserved: 0 });
    expect(unrecorded).toEqual([]);
    expect(errors).toEqual(['settle']);
  });

  it('never loses usage: a settle the store still refuses after the retry window, or holds at stop, goes to the fallback sink', async () => {
    const working = createMemoryBudgetStore({ keyPrefix: 'tgtest:', recordRetentionMs: 60_000, onUsageEvent: () => {} });
    const down = {
      ...working,
      settle: async () => {
        throw new BudgetStoreUnavailableError('down');
      },
    };
    // Retried for half the record retention: 500 ms here.
    const expiring = engineOver(down, { budgets, recordRetentionMs: 1_000 });
    const first = await expiring.engine.reserve(reserveInput);
    if (!first.ok) throw new Error('expected a reservation');
    expect(await expiring.engine.settle(first.reservation, event, nowMs)).toMatchObject({ status: 'retrying' });
    await expect.poll(() => expiring.unrecorded, { timeout: 3_000, interval: 50 }).toEqual([event]);

    const stopping = engineOver(down, { budgets });
    const second = await stopping.engine.reserve({ ...reserveInput, requestId: 'r2' });
    if (!second.ok) throw new Error('expected a reservation');
    await stopping.engine.settle(second.reservation, event, nowMs);
    expect(stopping.unrecorded).toEqual([]);
    stopping.engine.stop();
    expect(stopping.unrecorded).toEqual([event]);
  });

  it('reserves exactly what src/pricing says the request can cost at most', async () => {
    const store = createMemoryBudgetStore({ keyPrefix: 'tgtest:', recordRetentionMs: 60_000, onUsageEvent: () => {} });
    const { engine } = engineOver(store, { budgets });
    for (const [promptTokens, maxOutputTokens] of [[1_000, 2_000], [1, 1], [333, 7], [0, 0]] as const) {
      const outcome = await engine.reserve({ ...reserveInput, requestId: `r-${promptTokens}`, promptTokens: () => promptTokens, maxOutputTokens });
      if (!outcome.ok) throw new Error('expected a reservation');
      expect(outcome.reservation.debits[0]!.amount).toBe(maxCostMicros(promptTokens, maxOutputTokens, model.price));
    }
  });
});

describe('budget reaper', () => {
  it('drains more expired leases than one batch in a single pass, org by org', async () => {
    const store = createMemoryBudgetStore({ keyPrefix: 'tgtest:', recordRetentionMs: 60_000, onUsageEvent: () => {} });
    const { engine } = engineOver(store, { leaseMs: 1_000, budgets });
    for (const orgId of ['o1', 'o2']) {
      for (let i = 0; i < 7; i++) {
        const outcome = await engine.reserve({ ...reserveInput, principal: { ...principal, orgId }, requestId: `${orgId}-${i}`, promptTokens: () => 1, maxOutputTokens: 1 });
        expect(outcome.ok).toBe(true);
      }
    }
    const reaper = startBudgetReaper({ store, listOrgIds: async () => ['o1', 'o2'], intervalMs: 3_600_000, batchSize: 3, clock: () => nowMs + 1_000 });
    expect(await reaper.runOnce()).toBe(14);
    expect(await reaper.runOnce()).toBe(0);
    await reaper.stop();
  });

  it('still returns the leases of the other orgs when one org\'s store is away (its Cluster node is down)', async () => {
    const store = createMemoryBudgetStore({ keyPrefix: 'tgtest:', recordRetentionMs: 60_000, onUsageEvent: () => {} });
    const { engine } = engineOver(store, { leaseMs: 1_000, budgets });
    for (const orgId of ['o1', 'o2']) {
      const outcome = await engine.reserve({ ...reserveInput, principal: { ...principal, orgId }, requestId: `${orgId}-0`, promptTokens: () => 1, maxOutputTokens: 1 });
      expect(outcome.ok).toBe(true);
    }
    const halfDown: BudgetStore = {
      ...store,
      reapExpired: async (orgId, nowMs, maxCount) => {
        if (orgId === 'o1') throw new BudgetStoreUnavailableError('node away');
        return store.reapExpired(orgId, nowMs, maxCount);
      },
    };
    const reaper = startBudgetReaper({ store: halfDown, listOrgIds: async () => ['o1', 'o2'], intervalMs: 3_600_000, clock: () => nowMs + 1_000 });
    await expect(reaper.runOnce()).rejects.toThrow('node away');
    // o2's lease went back in the failed pass: o1's alone is left.
    expect(await store.reapExpired('o2', nowMs + 1_000, 10)).toBe(0);
    expect(await store.reapExpired('o1', nowMs + 1_000, 10)).toBe(1);
    await reaper.stop();
  });

  it('keeps running after a failed pass and reports the error', async () => {
    const failures: string[] = [];
    let calls = 0;
    const reaper = startBudgetReaper({
      store: { reapExpired: async () => 0 } as unknown as BudgetStore,
      listOrgIds: async () => {
        calls += 1;
        if (calls === 1) throw new Error('control plane down');
        return [];
      },
      intervalMs: 5,
      onError: (err) => failures.push(err.message),
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    await reaper.stop();
    expect(failures).toEqual(['control plane down']);
    expect(calls).toBeGreaterThan(1);
  });
});
