// Compiled budget rules: built once when rules load, then turns a principal into the buckets of one
// request with map lookups and string building only (the hot path). Rules with an orgId (the
// control plane's rows) apply only to that org; rules without one (the config's) to every org. A
// rule naming an id replaces the '*' rule of the same scope, metric and window for that id, and an
// org's rule replaces the config's of the same shape; limits merge field by field.
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
  // A session rule with requireSession applies to this principal: a request without
  // x-session-id is refused (session_required) rather than left out of the session budget.
  sessionRequired(principal: BudgetPrincipal): boolean;
}

type PlanOptions = Pick<BudgetConfig, 'clamp' | 'windowGraceMs' | 'sessionIdleMs'> & { keyPrefix: string };

const perMinuteMs = 60_000;

const measureOf: Record<BudgetRule['metric'], BucketMeasure> = { tokens: 'tokens', costMicros: 'costMicros', requests: 'requests' };

// One org's view of one scope's rules: what each named id gets, and what every other id gets.
interface View<T> {
  readonly byId: ReadonlyMap<string, T>;
  readonly wildcard: T | undefined;
}

// Orgs with control-plane rows of the scope have a view of their own; every other org shares the
// view of the config's rules. Rules of one org therefore never reach a principal of another.
interface ScopeIndex<T> {
  readonly byOrg: ReadonlyMap<string, View<T>>;
  readonly defaults: View<T>;
}

const lookup = <T>(index: ScopeIndex<T>, orgId: string, id: string): T | undefined => {
  const view = index.byOrg.get(orgId) ?? index.defaults;
  return view.byId.get(id) ?? view.wildcard;
};

// The rules that could apply to one id, most specific first: the org's rules for the id, the
// config's for the id, the org's '*' rules, the config's '*' rules.
type Layers<T> = readonly [readonly T[] | undefined, readonly T[] | undefined, readonly T[] | undefined, readonly T[] | undefined];

type Scoped = { readonly orgId?: string | undefined; readonly scopeId: string };

function indexScope<T extends Scoped, R>(rules: readonly T[], resolve: (layers: Layers<T>) => R | undefined): ScopeIndex<R> {
  // org ('' for config rules) -> scope id -> rules
  const grouped = new Map<string, Map<string, T[]>>();
  for (const rule of rules) {
    const org = grouped.get(rule.orgId ?? '') ?? new Map<string, T[]>();
    grouped.set(rule.orgId ?? '', org);
    org.set(rule.scopeId, [...(org.get(rule.scopeId) ?? []), rule]);
  }
  const config = grouped.get('') ?? new Map<string, T[]>();
  const viewOf = (own: ReadonlyMap<string, T[]>): View<R> => {
    const byId = new Map<string, R>();
    for (const id of new Set([...own.keys(), ...config.keys()])) {
      if (id === '*') continue;
      const resolved = resolve([own.get(id), config.get(id), own.get('*'), config.get('*')]);
      if (resolved !== undefined) byId.set(id, resolved);
    }
    return { byId, wildcard: resolve([undefined, undefined, own.get('*'), config.get('*')]) };
  };
  const byOrg = new Map<string, View<R>>();
  for (const [orgId, own] of grouped) if (orgId !== '') byOrg.set(orgId, viewOf(own));
  return { byOrg, defaults: viewOf(new Map()) };
}

interface ResolvedBudgets {
  readonly rules: readonly BudgetRule[];
  // Some session rule here refuses requests that send no x-session-id.
  readonly requireSession: boolean;
}

// The first rule of each metric and window wins, so a more specific rule replaces the rest.
function resolveBudgets(layers: Layers<BudgetRule>): ResolvedBudgets | undefined {
  const seen = new Set<string>();
  const rules: BudgetRule[] = [];
  for (const layer of layers) {
    for (const rule of layer ?? []) {
      const shape = `${rule.metric}\0${rule.window}`;
      if (seen.has(shape)) continue;
      seen.add(shape);
      rules.push(rule);
    }
  }
  return rules.length > 0 ? { rules, requireSession: rules.some((r) => r.requireSession === true) } : undefined;
}

// The org's entry replaces the config's for the same id (and '*'); the id's entry then merges over
// the '*' entry field by field.
function resolveLimits([ownId, configId, ownAll, configAll]: Layers<LimitRule>): LimitRule | undefined {
  const specific = ownId?.[0] ?? configId?.[0];
  const wildcard = ownAll?.[0] ?? configAll?.[0];
  if (!specific) return wildcard;
  return {
    ...specific,
    rpm: specific.rpm ?? wildcard?.rpm,
    tpm: specific.tpm ?? wildcard?.tpm,
    concurrency: specific.concurrency ?? wildcard?.concurrency,
  };
}

const thresholdOf = (limit: number, pct: number): number => Math.ceil((limit * pct) / 100);

export function compileBudgetRules(config: Pick<BudgetConfig, 'budgets' | 'limits'> & PlanOptions): CompiledBudgets {
  const budgetsOf = (scope: BudgetScope) => indexScope(config.budgets.filter((r) => r.scope === scope), resolveBudgets);
  const limitsOf = (scope: LimitRule['scope']) => indexScope(config.limits.filter((r) => r.scope === scope), resolveLimits);
  const budgets = { key: budgetsOf('key'), user: budgetsOf('user'), team: budgetsOf('team'), org: budgetsOf('org') };
  const limits = { key: limitsOf('key'), user: limitsOf('user'), team: limitsOf('team'), org: limitsOf('org') };
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

  function addBudgets(out: BucketPlan[], tag: string, resolved: ResolvedBudgets | undefined, scopeId: string, sessionId: string | null, nowMs: number): void {
    if (!resolved) return;
    for (const rule of resolved.rules) {
      const bucket = budgetBucket(tag, rule, scopeId, sessionId, nowMs);
      if (bucket) out.push(bucket);
    }
  }

  return {
    plan(principal, sessionId, nowMs) {
      const { orgId } = principal;
      // Every key of the plan carries the principal's org tag, so two orgs' buckets never share one.
      const tag = orgTag(keyPrefix, orgId);
      const out: BucketPlan[] = [];
      const keyLimit = lookup(limits.key, orgId, principal.keyId);
      if (keyLimit) limitBuckets(out, tag, keyLimit, principal.keyId);
      const userLimit = lookup(limits.user, orgId, principal.userId);
      if (userLimit) limitBuckets(out, tag, userLimit, principal.userId);
      for (const teamId of principal.teamIds) {
        const teamLimit = lookup(limits.team, orgId, teamId);
        if (teamLimit) limitBuckets(out, tag, teamLimit, teamId);
      }
      const orgLimit = lookup(limits.org, orgId, orgId);
      if (orgLimit) limitBuckets(out, tag, orgLimit, orgId);
      addBudgets(out, tag, lookup(budgets.key, orgId, principal.keyId), principal.keyId, sessionId, nowMs);
      addBudgets(out, tag, lookup(budgets.user, orgId, principal.userId), principal.userId, sessionId, nowMs);
      for (const teamId of principal.teamIds) addBudgets(out, tag, lookup(budgets.team, orgId, teamId), teamId, sessionId, nowMs);
      addBudgets(out, tag, lookup(budgets.org, orgId, orgId), orgId, sessionId, nowMs);
      return out;
    },

    sessionRequired(principal) {
      const { orgId } = principal;
      return Boolean(lookup(budgets.key, orgId, principal.keyId)?.requireSession || lookup(budgets.user, orgId, principal.userId)?.requireSession);
    },
  };
}
