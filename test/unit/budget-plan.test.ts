// The compiled rules index: which buckets a principal's request debits, under which keys.
import { describe, expect, it } from 'vitest';
import { compileBudgetRules, type BudgetPrincipal } from '../../src/budget/plan.js';
import { budgetConfigSchema, type BudgetConfigInput } from '../../src/budget/rules.js';

const nowMs = Date.parse('2024-05-15T12:00:00Z');
const principal: BudgetPrincipal = { orgId: 'o1', teamIds: ['child', 'parent', 'root'], userId: 'u1', keyId: 'k1' };
const compile = (input: BudgetConfigInput) => compileBudgetRules({ ...budgetConfigSchema.parse(input), keyPrefix: 'tg:' });

describe('budget planning', () => {
  it('puts every key under the prefix and the org hash tag, so one script touches one slot', () => {
    const buckets = compile({
      budgets: [
        { scope: 'org', scopeId: '*', metric: 'costMicros', window: 'month', limit: 10 },
        { scope: 'user', scopeId: '*', metric: 'tokens', window: 'total', limit: 10 },
      ],
      limits: [{ scope: 'key', scopeId: '*', rpm: 60, concurrency: 2 }],
    }).plan(principal, null, nowMs);
    expect(buckets.map((b) => b.key)).toEqual([
      'tg:{org:o1}:cc:key:k1',
      'tg:{org:o1}:rl:key:k1:rpm',
      'tg:{org:o1}:b:user:u1:tokens:total',
      `tg:{org:o1}:b:org:o1:costMicros:month:${Date.parse('2024-05-01T00:00:00Z')}`,
    ]);
  });

  it('charges every team of the chain that has a budget, own team first', () => {
    const buckets = compile({
      budgets: [
        { scope: 'team', scopeId: 'root', metric: 'tokens', window: 'day', limit: 10 },
        { scope: 'team', scopeId: 'child', metric: 'tokens', window: 'day', limit: 10 },
      ],
    }).plan(principal, null, nowMs);
    expect(buckets.map((b) => b.ref.scopeId)).toEqual(['child', 'root']);
  });

  it("replaces the '*' rule of the same metric and window for a named id, and keeps the others", () => {
    const rules = compile({
      budgets: [
        { scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 100 },
        { scope: 'user', scopeId: '*', metric: 'requests', window: 'day', limit: 5 },
        { scope: 'user', scopeId: 'u1', metric: 'tokens', window: 'day', limit: 9_000 },
      ],
    });
    expect(rules.plan(principal, null, nowMs).map((b) => [b.ref.metric, b.limit])).toEqual([['tokens', 9_000], ['requests', 5]]);
    expect(rules.plan({ ...principal, userId: 'u2' }, null, nowMs).map((b) => [b.ref.metric, b.limit])).toEqual([['tokens', 100], ['requests', 5]]);
  });

  it("merges a named id's rate limits over the '*' entry field by field", () => {
    const buckets = compile({ limits: [{ scope: 'user', scopeId: '*', rpm: 10, tpm: 1_000 }, { scope: 'user', scopeId: 'u1', tpm: 50_000 }] }).plan(principal, null, nowMs);
    expect(buckets.map((b) => [b.key, b.limit])).toEqual([['tg:{org:o1}:rl:user:u1:rpm', 10], ['tg:{org:o1}:rl:user:u1:tpm', 50_000]]);
  });

  it('plans session buckets only for a request with a session id, keyed by it', () => {
    const rules = compile({ budgets: [{ scope: 'key', scopeId: '*', metric: 'tokens', window: 'session', limit: 10 }] });
    expect(rules.plan(principal, null, nowMs)).toEqual([]);
    expect(rules.plan(principal, 'chat-42', nowMs)[0]).toMatchObject({ key: 'tg:{org:o1}:b:key:k1:tokens:session:chat-42', sliding: true, resetAtMs: null });
  });

  it('rounds thresholds up, expires windows after their end plus grace, and clamps only token and cost budgets', () => {
    const [tokens, requests] = compile({
      clamp: true,
      windowGraceMs: 1_000,
      budgets: [
        { scope: 'org', scopeId: '*', metric: 'tokens', window: 'hour', limit: 999, warnPct: 50, criticalPct: 90 },
        { scope: 'org', scopeId: '*', metric: 'requests', window: 'hour', limit: 10 },
      ],
    }).plan(principal, null, nowMs);
    expect(tokens).toMatchObject({ warnAt: 500, criticalAt: 900, clamp: true, ttlMs: 3_601_000, resetAtMs: nowMs + 3_600_000 });
    expect(requests).toMatchObject({ clamp: false });
  });
});

describe('budget planning across orgs', () => {
  const inOrg = (orgId: string, userId: string): BudgetPrincipal => ({ orgId, teamIds: [], userId, keyId: `${userId}-key` });

  it("applies an org's '*' rule only to principals of that org", () => {
    const rules = compile({ budgets: [{ orgId: 'oa', scope: 'user', scopeId: '*', metric: 'tokens', window: 'total', limit: 0 }] });
    expect(rules.plan(inOrg('oa', 'ua'), null, nowMs).map((b) => b.key)).toEqual(['tg:{org:oa}:b:user:ua:tokens:total']);
    expect(rules.plan(inOrg('ob', 'ub'), null, nowMs)).toEqual([]);
  });

  it("gives two orgs with same-shaped '*' rules one bucket each, under their own org tag and limit", () => {
    const rules = compile({
      budgets: [
        { orgId: 'oa', scope: 'user', scopeId: '*', metric: 'requests', window: 'total', limit: 1 },
        { orgId: 'ob', scope: 'user', scopeId: '*', metric: 'requests', window: 'total', limit: 3 },
      ],
    });
    const a = rules.plan(inOrg('oa', 'same-user'), null, nowMs);
    const b = rules.plan(inOrg('ob', 'same-user'), null, nowMs);
    expect(a.map((x) => [x.key, x.limit])).toEqual([['tg:{org:oa}:b:user:same-user:requests:total', 1]]);
    expect(b.map((x) => [x.key, x.limit])).toEqual([['tg:{org:ob}:b:user:same-user:requests:total', 3]]);
  });

  it("keeps the config's '*' rules for every org; an org's rule of the same shape replaces the default for that org only", () => {
    const rules = compile({
      budgets: [
        { scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 100 },
        { scope: 'user', scopeId: '*', metric: 'requests', window: 'day', limit: 5 },
        { orgId: 'oa', scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 7 },
        { orgId: 'oa', scope: 'user', scopeId: 'ua', metric: 'requests', window: 'day', limit: 50 },
      ],
      limits: [{ scope: 'key', scopeId: '*', rpm: 60 }, { orgId: 'oa', scope: 'key', scopeId: '*', tpm: 1_000 }],
    });
    const limitsOf = (p: BudgetPrincipal) => rules.plan(p, null, nowMs).map((b) => [b.ref.metric, b.limit]);
    expect(limitsOf(inOrg('oa', 'ua'))).toEqual([['tokens', 1_000], ['requests', 50], ['tokens', 7]]);
    expect(limitsOf(inOrg('oa', 'other'))).toEqual([['tokens', 1_000], ['tokens', 7], ['requests', 5]]);
    expect(limitsOf(inOrg('ob', 'ua'))).toEqual([['requests', 60], ['tokens', 100], ['requests', 5]]);
  });

  it("a config rule naming an id merges with that org's '*' rules", () => {
    const rules = compile({
      budgets: [
        { scope: 'user', scopeId: 'vip', metric: 'tokens', window: 'day', limit: 9_000 },
        { orgId: 'oa', scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 10 },
        { orgId: 'oa', scope: 'user', scopeId: '*', metric: 'requests', window: 'day', limit: 3 },
      ],
    });
    expect(rules.plan(inOrg('oa', 'vip'), null, nowMs).map((b) => [b.ref.metric, b.limit])).toEqual([['tokens', 9_000], ['requests', 3]]);
  });

  it('reports a required session only for principals a requireSession rule applies to', () => {
    const rules = compile({
      budgets: [
        { orgId: 'oa', scope: 'key', scopeId: '*', metric: 'tokens', window: 'session', limit: 10, requireSession: true },
        { scope: 'user', scopeId: '*', metric: 'tokens', window: 'session', limit: 10 },
      ],
    });
    expect(rules.sessionRequired(inOrg('oa', 'ua'))).toBe(true);
    expect(rules.sessionRequired(inOrg('ob', 'ub'))).toBe(false);
  });
});
