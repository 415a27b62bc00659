// GET /v1/usage: where the caller stands. Every counter budget that applies to the caller's key
// (key, user, each team up the chain, org; the session's when x-session-id is sent), read from the
// budget store, which is what enforcement uses; plus today's totals and the session's from the
// ledger (which trails the counters by the flush interval).
import { and, eq, gte, sql } from 'drizzle-orm';
import { usageEvents } from '../../drizzle/schema/usage.js';
import type { Principal } from '../auth/principal.js';
import type { BucketPlan } from '../budget/store.js';
import type { Db } from '../db/database.js';

export interface CounterReading {
  readonly used: number;
  readonly reserved: number;
}

export interface UsageStatusDeps {
  db: Db;
  plan(principal: Principal, sessionId: string | null, nowMs: number): readonly BucketPlan[];
  readCounters(orgId: string, keys: readonly string[]): Promise<readonly CounterReading[]>;
}

const dayMs = 86_400_000;

const percentOf = (part: number, whole: number): number => (whole === 0 ? 100 : Math.round((part * 10_000) / whole) / 100);

async function ledgerTotals(db: Db, where: ReturnType<typeof and>) {
  const [row] = await db
    .select({
      requests: sql<number>`count(*)::int`,
      tokens: sql<number>`coalesce(sum(${usageEvents.promptTokens} + ${usageEvents.completionTokens}), 0)::bigint`,
      costMicros: sql<number>`coalesce(sum(${usageEvents.costMicros}), 0)::bigint`,
    })
    .from(usageEvents)
    .where(where);
  return { requests: Number(row?.requests ?? 0), tokens: Number(row?.tokens ?? 0), cost_micros: Number(row?.costMicros ?? 0) };
}

export async function usageStatus(deps: UsageStatusDeps, principal: Principal, sessionId: string | null, nowMs: number) {
  const counters = deps.plan(principal, sessionId, nowMs).filter((b) => b.kind === 'counter' && b.measure !== 'inflight');
  const readings = await deps.readCounters(principal.orgId, counters.map((b) => b.key));
  const budgets = counters.map((b, i) => {
    const { used, reserved } = readings[i] ?? { used: 0, reserved: 0 };
    return {
      scope: b.ref.scope,
      scope_id: b.ref.scopeId,
      metric: b.ref.metric,
      window: b.ref.window,
      limit: b.limit,
      used,
      reserved,
      remaining: Math.max(0, b.limit - used - reserved),
      percent: percentOf(used, b.limit),
      resets_at: b.resetAtMs === null ? null : new Date(b.resetAtMs).toISOString(),
    };
  });
  const midnightUtc = new Date(Math.floor(nowMs / dayMs) * dayMs);
  const today = await ledgerTotals(deps.db, and(eq(usageEvents.userId, principal.userId), gte(usageEvents.time, midnightUtc)));
  const session = sessionId ? { id: sessionId, ...(await ledgerTotals(deps.db, and(eq(usageEvents.userId, principal.userId), eq(usageEvents.sessionId, sessionId)))) } : null;
  return {
    object: 'usage',
    org_id: principal.orgId,
    user_id: principal.userId,
    key_id: principal.keyId,
    budgets,
    today: { since: midnightUtc.toISOString(), ...today },
    session,
  };
}
