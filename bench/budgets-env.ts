// The budgeted gateway of the benches (bench/proxy.ts, bench/cpu.ts --budgets): five buckets per
// request, the typical set (key and user tokens per day, user and org cost per month, key requests
// per minute), with limits high enough that nothing is refused: only the cost of checking is
// measured.
export const budgetsEnv: Readonly<Record<string, string>> = {
  TOLLGATE_BUDGET__BUDGETS: JSON.stringify([
    { scope: 'key', scopeId: '*', metric: 'tokens', window: 'day', limit: 1e12 },
    { scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 1e12 },
    { scope: 'user', scopeId: '*', metric: 'costMicros', window: 'month', limit: 1e12 },
    { scope: 'org', scopeId: '*', metric: 'costMicros', window: 'month', limit: 1e12 },
  ]),
  TOLLGATE_BUDGET__LIMITS: JSON.stringify([{ scope: 'key', scopeId: '*', rpm: 1e9 }]),
};
