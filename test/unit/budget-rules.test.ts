// The budget section of the config: defaults, and refusals that name the offending entry.
import { describe, expect, it } from 'vitest';
import { budgetConfigSchema } from '../../src/budget/rules.js';

const messages = (input: unknown): string[] => {
  const result = budgetConfigSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('budget rules schema', () => {
  it('fills in thresholds, time zone and engine defaults', () => {
    const config = budgetConfigSchema.parse({ budgets: [{ scope: 'team', scopeId: 't1', metric: 'costMicros', window: 'month', limit: 5_000_000 }] });
    expect(config).toMatchObject({ clamp: false, failureMode: 'closed', leaseMs: 60_000, minOutputTokens: 16, limits: [] });
    expect(config.budgets[0]).toEqual({ scope: 'team', scopeId: 't1', metric: 'costMicros', window: 'month', limit: 5_000_000, warnPct: 80, criticalPct: 95, timezone: 'UTC' });
  });

  it('rejects an unknown time zone, naming the entry', () => {
    expect(messages({ budgets: [{ scope: 'org', scopeId: 'o', metric: 'tokens', window: 'day', limit: 1, timezone: 'Mars/Olympus' }] })).toEqual([
      'budgets.0.timezone: must be an IANA time zone such as Europe/Paris',
    ]);
  });

  it('rejects fractional limits and a session window on a team', () => {
    expect(messages({ budgets: [{ scope: 'team', scopeId: 't', metric: 'tokens', window: 'session', limit: 1.5 }] })).toEqual([
      'budgets.0.limit: Invalid input: expected int, received number',
    ]);
    expect(messages({ budgets: [{ scope: 'team', scopeId: 't', metric: 'tokens', window: 'session', limit: 1 }] })).toEqual([
      'budgets.0.window: window session applies only to scope key or user',
    ]);
  });

  it('rejects two budgets for the same scope, metric and window', () => {
    const rule = { scope: 'user', scopeId: 'u', metric: 'tokens', window: 'day', limit: 10 };
    expect(messages({ budgets: [rule, { ...rule, limit: 20 }] })).toEqual(['budgets.1: duplicates budgets[0] (same scope, scopeId, metric and window)']);
  });

  it('rejects a limits entry that limits nothing, and a warning above the critical threshold', () => {
    expect(messages({ limits: [{ scope: 'key', scopeId: '*' }] })).toEqual(['limits.0: set at least one of rpm, tpm, concurrency']);
    expect(messages({ budgets: [{ scope: 'org', scopeId: 'o', metric: 'tokens', window: 'day', limit: 1, warnPct: 96 }] })).toEqual([
      'budgets.0.warnPct: warnPct must not exceed criticalPct',
    ]);
  });
});

describe('session requirement', () => {
  it('accepts requireSession on a session window only', () => {
    expect(messages({ budgets: [{ scope: 'key', scopeId: '*', metric: 'tokens', window: 'session', limit: 1, requireSession: true }] })).toEqual([]);
    expect(messages({ budgets: [{ scope: 'key', scopeId: '*', metric: 'tokens', window: 'day', limit: 1, requireSession: true }] })).toEqual([
      'budgets.0.requireSession: requireSession applies only to window session',
    ]);
  });
});
