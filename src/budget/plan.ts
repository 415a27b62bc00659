// Compiled budget rules: built once when rules load, then turns a principal into the buckets of one
// request with map lookups and string building only (the hot path). A rule naming an id replaces
// the '*' rule of the same scope, metric and window for that id; limits merge field by field.
import { orgTag } from './keys.js';
import type { BudgetConfig, BudgetRule, BudgetScope, LimitRule } from './rules.js';
import type { BucketMeasure, BucketPlan, BucketRef } from './store.js';
import { windowSpan } from './windows.js';

export interface BudgetPrincipal {
  readonly orgId: string;
  // The principal's own team first, then each parent up the chain; every one is charged.
  readonly teamIds: readonly string[];
  readonly userId: string;
  readonly keyId: string;
}

export interface CompiledBudgets {
  // The buckets a request of this principal debits, at nowMs. sessionId is the x-session-id header.
  plan(principal: BudgetPrincipal, sessionId: string | null, nowMs: number): BucketPlan[];
}

type PlanOptions = Pick<BudgetConfig, 'clamp' | 'windowGraceMs' | 'sessionIdleMs'> & { keyPrefix: string };

const perMinuteMs = 60_000;

const measureOf: Record<BudgetRule['metric'], BucketMeasure> = { tokens: 'tokens', costMicros: 'costMicros', requests: 'requests' };

interface ScopeIndex<T> {
  readonly byId: ReadonlyMap<string, T>;
  readonly wildcard: T | undefined;
}

const lookup = <T>(index: ScopeIndex<T>, id: string): T | undefined => index.byId.get(id) ?? index.wildcard;

function indexBudgets(rules: readonly BudgetRule[], scope: BudgetScope): ScopeIndex<readonly BudgetRule[]> {
  const own = rules.filter((r) => r.scope === scope);
  const wildcard = own.filter((r) => r.scopeId === '*');
  const byId = new Map<string, BudgetRule[]>();
  for (const rule of own) {
    if (rule.scopeId !== '*') byId.set(rule.scopeId, [...(byId.get(rule.scopeId) ?? []), rule]);
  }
  for (const [id, specific] of byId) {
    const inherited = wildcard.filter((w) => !specific.some((s) => s.metric === w.metric && s.window === w.window));
    byId.set(id, [...specific, ...inherited]);
  }
  return { byId, wildcard: wildcard.length > 0 ? wildcard : undefined };
}

function indexLimits(rules: readonly LimitRule[], scope: LimitRule['scope']): ScopeIndex<LimitRule> {
  const own = rules.filter((r) => r.scope === scope);
  const wildcard = own.find((r) => r.scopeId === '*');
  const byId = new Map<string, LimitRule>();
  for (const rule of own) {
    if (rule.scopeId === '*') continue;
    byId.set(rule.scopeId, {
      ...rule,
      rpm: rule.rpm ?? wildcard?.rpm,
      tpm: rule.tpm ?? wildcard?.tpm,
      concurrency: rule.concurrency ?? wildcard?.concurrency,
    });
  }
  return { byId, wildcard };
}

const thresholdOf = (limit: number, pct: number): number => Math.ceil((limit * pct) / 100);

export function compileBudgetRules(config: Pick<BudgetConfig, 'budgets' | 'limits'> & PlanOptions): CompiledBudgets {
  const budgets = {
    key: indexBudgets(config.budgets, 'key'),
    user: indexBudgets(config.budgets, 'user'),
    team: indexBudgets(config.budgets, 'team'),
    org: indexBudgets(config.budgets, 'org'),
  };
  const limits = { key: indexLimits(config.limits, 'key'), user: indexLimits(config.limits, 'user') };
  const { keyPrefix, windowGraceMs, sessionIdleMs } = config;

  function budgetBucket(tag: string, rule: BudgetRule, scopeId: string, sessionId: string | null, nowMs: number): BucketPlan | null {
    const ref: BucketRef = { scope: rule.scope, scopeId, metric: rule.metric, window: rule.window };
    const base = `${tag}:b:${rule.scope}:${scopeId}:${rule.metric}:${rule.window}`;
    let key: string;
    let ttlMs: number;
    let resetAtMs: number | null;
    let ledgerFromMs: number | null;
    if (rule.window === 'session') {
      if (sessionId === null) return null;
      key = `${base}:${sessionId}`;
      ttlMs = sessionIdleMs;
      resetAtMs = null;
      ledgerFromMs = null;
    } else {
      const span = windowSpan(rule.window, rule.timezone, nowMs);
      key = span.endMs === null ? base : `${base}:${span.startMs}`;
      ttlMs = span.endMs === null ? 0 : span.endMs + windowGraceMs - nowMs;
      resetAtMs = span.endMs;
      ledgerFromMs = span.startMs;
    }
    return {
      ref,
      kind: 'counter',
      measure: measureOf[rule.metric],
      key,
      limit: rule.limit,
      clamp: rule.metric !== 'requests' && (rule.clamp ?? config.clamp),
      ttlMs,
      sliding: rule.window === 'session',
      warnAt: thresholdOf(rule.limit, rule.warnPct),
      criticalAt: thresholdOf(rule.limit, rule.criticalPct),
      periodMs: 0,
      resetAtMs,
      ledgerFromMs,
    };
  }

  function limitBuckets(out: BucketPlan[], tag: string, rule: LimitRule, scopeId: string): void {
    const rate = (metric: 'requests' | 'tokens', limit: number, name: string): BucketPlan => {
      const ref: BucketRef = { scope: rule.scope, scopeId, metric, window: 'per_minute' };
      return {
        ref,
        kind: 'gcra',
        measure: metric,
        key: `${tag}:rl:${rule.scope}:${scopeId}:${name}`,
        limit,
        clamp: false,
        ttlMs: 0,
        sliding: false,
        warnAt: limit,
        criticalAt: limit,
        periodMs: perMinuteMs,
        resetAtMs: null,
        ledgerFromMs: null,
      };
    };
    if (rule.concurrency !== undefined) {
      const ref: BucketRef = { scope: rule.scope, scopeId, metric: 'concurrency', window: 'in_flight' };
      out.push({
        ref,
        kind: 'counter',
        measure: 'inflight',
        key: `${tag}:cc:${rule.scope}:${scopeId}`,
        limit: rule.concurrency,
        clamp: false,
        // In-flight counts fall back to 0 when idle, so the key never expires: a TTL would have to be
        // refreshed on every request, and an expiry mid-request would lose the count.
        ttlMs: 0,
        sliding: false,
        // In-flight counts are never "used", so they never report crossings.
        warnAt: rule.concurrency,
        criticalAt: rule.concurrency,
        periodMs: 0,
        resetAtMs: null,
        ledgerFromMs: null,
      });
    }
    if (rule.rpm !== undefined) out.push(rate('requests', rule.rpm, 'rpm'));
    if (rule.tpm !== undefined) out.push(rate('tokens', rule.tpm, 'tpm'));
  }

  function addBudgets(out: BucketPlan[], tag: string, rules: readonly BudgetRule[] | undefined, scopeId: string, sessionId: string | null, nowMs: number): void {
    if (!rules) return;
    for (const rule of rules) {
      const bucket = budgetBucket(tag, rule, scopeId, sessionId, nowMs);
      if (bucket) out.push(bucket);
    }
  }

  return {
    plan(principal, sessionId, nowMs) {
      const tag = orgTag(keyPrefix, principal.orgId);
      const out: BucketPlan[] = [];
      const keyLimit = lookup(limits.key, principal.keyId);
      if (keyLimit) limitBuckets(out, tag, keyLimit, principal.keyId);
      const userLimit = lookup(limits.user, principal.userId);
      if (userLimit) limitBuckets(out, tag, userLimit, principal.userId);
      addBudgets(out, tag, lookup(budgets.key, principal.keyId), principal.keyId, sessionId, nowMs);
      addBudgets(out, tag, lookup(budgets.user, principal.userId), principal.userId, sessionId, nowMs);
      for (const teamId of principal.teamIds) addBudgets(out, tag, lookup(budgets.team, teamId), teamId, sessionId, nowMs);
      addBudgets(out, tag, lookup(budgets.org, principal.orgId), principal.orgId, sessionId, nowMs);
      return out;
    },
  };
}
