// A settle that lands after the reaper returned its reservation: the request outlived its lease,
// the room it held was free in between, and another request took it. The late settle still charges
// its usage, so the budget ends past its limit by exactly that usage (the bound DESIGN.md states),
// and the store wrapper reports each such settle once. On the in-process twin and on real Redis.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createBudgetEngine } from '../../src/budget/engine.js';
import { observingLateSettles } from '../../src/budget/late-settles.js';
import { createMemoryBudgetStore } from '../../src/budget/memory-store.js';
import { type BudgetPrincipal, compileBudgetRules } from '../../src/budget/plan.js';
import { createRedisBudgetStore } from '../../src/budget/redis-store.js';
import { budgetConfigSchema } from '../../src/budget/rules.js';
import type { BudgetStore, StoreSettleRequest } from '../../src/budget/store.js';
import type { CatalogModel } from '../../src/config/catalog.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { redisAvailable, redisUrl } from '../helpers/services.js';

const prefix = `tgtest:late:${randomBytes(4).toString('hex')}:`;
const redisUp = await redisAvailable();
// Db 12: other suites share this Redis.
const redis = redisUp ? new Redis(`${redisUrl}/12`) : undefined;

afterAll(async () => {
  if (!redis) return;
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.unlink(...keys);
  redis.disconnect();
});

const t0 = Date.parse('2024-05-15T12:00:00Z');
const leaseMs = 3_000;
const model: CatalogModel = {
  name: 'test-model',
  provider: 'openai',
  upstreamModel: 'test-model',
  encoding: 'o200k_base',
  contextWindow: 128_000,
  maxOutputTokens: 4_096,
  price: { inputPerMTok: 0, cachedInputPerMTok: 0, cacheWritePerMTok: 0, outputPerMTok: 0 },
};

const event = (principal: BudgetPrincipal, requestId: string): UsageEvent => ({
  requestId,
  timeMs: t0,
  orgId: principal.orgId,
  teamId: null,
  userId: principal.userId,
  keyId: principal.keyId,
  provider: 'openai',
  model: model.name,
  promptTokens: 5,
  cachedTokens: 0,
  completionTokens: 5,
  reasoningTokens: 0,
  costMicros: 0,
  status: 200,
  errorCode: null,
  stream: false,
  latencyMs: 4_000,
  ttfbMs: null,
  estimated: false,
  sessionId: null,
  tags: {},
});

const stores: Array<{ name: string; available: boolean; make: () => BudgetStore }> = [
  { name: 'the in-process twin', available: true, make: () => createMemoryBudgetStore({ keyPrefix: prefix, recordRetentionMs: 600_000, onUsageEvent: () => {} }) },
  { name: 'Redis', available: redis !== undefined, make: () => createRedisBudgetStore({ redis: redis!, keyPrefix: prefix, recordRetentionMs: 600_000, batchWindowMs: 0, usageFlushMs: 0 }) },
];

for (const backend of stores) {
  describe.skipIf(!backend.available)(`late settles on ${backend.name}`, () => {
    it('admits a request into the room a reaped reservation left, charges the late settle anyway, and reports it once', async () => {
      const config = budgetConfigSchema.parse({ leaseMs, budgets: [{ scope: 'org', scopeId: '*', metric: 'requests', window: 'total', limit: 1 }] });
      const late: StoreSettleRequest[] = [];
      const store = observingLateSettles(backend.make(), (request) => late.push(request));
      const engine = createBudgetEngine({ store, ledger: async (_o, buckets) => buckets.map(() => 0), rules: compileBudgetRules({ ...config, keyPrefix: prefix }), config, onUnrecordedUsage: () => {} });
      const principal: BudgetPrincipal = { orgId: `org-${randomBytes(4).toString('hex')}`, teamIds: [], userId: 'user-1', keyId: 'key-1' };
      const reserve = (requestId: string, nowMs: number) => engine.reserve({ requestId, principal, sessionId: null, model, promptTokens: () => 5, maxOutputTokens: 5, nowMs });

      const slow = await reserve('slow', t0);
      expect(slow.ok).toBe(true);
      expect((await reserve('refused', t0 + 1_000)).ok).toBe(false);
      // Its replica renewed nothing within the lease: the reaper takes it for dead.
      expect(await store.reapExpired(principal.orgId, t0 + leaseMs + 1, 10)).toBe(1);
      const next = await reserve('next', t0 + leaseMs + 2);
      expect(next.ok).toBe(true);

      if (!slow.ok || !next.ok) return;
      expect(await engine.settle(slow.reservation, event(principal, 'slow'), t0 + 4_000)).toMatchObject({ status: 'late' });
      expect(await engine.settle(next.reservation, event(principal, 'next'), t0 + 4_001)).toMatchObject({ status: 'settled' });
      // A duplicate of the late settle is not reported again.
      expect(await engine.settle(slow.reservation, event(principal, 'slow'), t0 + 4_002)).toMatchObject({ status: 'duplicate' });
      expect(late.map((r) => r.id)).toEqual(['slow']);
      // Two served against a limit of one: the overspend is the late request's own usage.
      const outcome = await reserve('after', t0 + 5_000);
      expect(outcome).toMatchObject({ ok: false, code: 'budget_exceeded' });
      if (!outcome.ok) expect(outcome.headers['x-ratelimit-remaining-requests']).toBe('0');
    });
    it('reports a request admitted against a slice the reaper returned as a late settle, once', async () => {
      const config = budgetConfigSchema.parse({ leaseMs, budgets: [{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'total', limit: 1_000_000 }] });
      const late: StoreSettleRequest[] = [];
      const store = observingLateSettles(backend.make(), (request) => late.push(request));
      const slices = { holderId: `holder-${randomBytes(4).toString('hex')}`, idleMs: 60_000, minRequests: 4 };
      const engine = createBudgetEngine({ store, ledger: async (_o, buckets) => buckets.map(() => 0), rules: compileBudgetRules({ ...config, keyPrefix: prefix }), config, slices, clock: () => t0, onUnrecordedUsage: () => {} });
      const principal: BudgetPrincipal = { orgId: `org-${randomBytes(4).toString('hex')}`, teamIds: [], userId: 'user-1', keyId: 'key-1' };
      const reserve = (requestId: string) => engine.reserve({ requestId, principal, sessionId: null, model, promptTokens: () => 5, maxOutputTokens: 5, nowMs: t0 });
      const first = await reserve('first');
      if (!first.ok) throw new Error('expected a reservation');
      await engine.settle(first.reservation, event(principal, 'first'), t0);
      // The slice is taken off the request's path, after the first reservation.
      let slow = await reserve('slow');
      for (let i = 0; slow.ok && !slow.reservation.slices && i < 100; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        slow = await reserve(`slow-${i}`);
      }
      expect(slow).toMatchObject({ ok: true, reservation: { slices: expect.anything() } });
      expect(await store.reapExpired(principal.orgId, t0 + leaseMs, 10)).toBeGreaterThanOrEqual(1);
      if (!slow.ok) return;
      expect(await engine.settle(slow.reservation, event(principal, slow.reservation.id), t0 + 4_000)).toMatchObject({ status: 'late' });
      expect(late.map((r) => r.id)).toEqual([slow.reservation.id]);
      await engine.stop();
    });
  });
}
