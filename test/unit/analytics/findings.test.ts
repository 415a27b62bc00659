import { describe, expect, it } from 'vitest';
import type { Analysis, BudgetForecastRecord } from '../../../src/analytics/analyse.js';
import { analyticsFindings } from '../../../src/analytics/findings.js';
import { forecastBudget } from '../../../src/analytics/forecast.js';

const record = (budgetId: string | null, usedAmount: number, limitAmount: number | null): BudgetForecastRecord => ({
  budgetId, scope: 'user', scopeId: '*', subjectId: 'usr_a', metric: 'costMicros', window: 'month', timezone: 'UTC', warnPct: 80, criticalPct: 95,
  forecast: forecastBudget({ history: new Array(20).fill(1000), firstForecastDay: '2026-11-20', horizonDays: 11, usedAmount, limitAmount }),
});
const analysis = (forecasts: BudgetForecastRecord[], anomalies: Analysis['anomalies'] = []): Analysis => ({ orgId: 'org_a', asOf: '2026-11-20T12:00:00.000Z', timeZone: 'UTC', lookbackDays: 90, forecasts, anomalies });

describe('analyticsFindings', () => {
  it('fires a projected exhaustion with a fingerprint per budget, subject and period, urgent within three days', () => {
    const [soon, later, never] = analyticsFindings(analysis([record('bud_1', 18_000, 20_000), record('bud_2', 10_000, 20_000), record('bud_3', 0, 1_000_000)]));
    expect(soon).toMatchObject({
      fingerprint: 'analytics:exhaustion:bud_1:usr_a:2026-11-30', name: 'budget.projected_exhaustion', severity: 'high', firing: true,
      scope: { type: 'user', id: 'usr_a' }, figures: { runOutDay: '2026-11-21', daysLeft: 1, limit: 20_000, used: 18_000 }, endsAt: '2026-12-01T00:00:00.000Z',
    });
    expect(later).toMatchObject({ severity: 'medium', firing: true, figures: { runOutDay: '2026-11-29', daysLeft: 9 } });
    // Reported as not firing, so a rule can clear an alert raised earlier in the period.
    expect(never).toMatchObject({ fingerprint: 'analytics:exhaustion:bud_3:usr_a:2026-11-30', firing: false, figures: { runOutDay: null } });
  });

  it('does not fire for a budget already exhausted (the live crossing alert owns that) nor one without a limit', () => {
    const findings = analyticsFindings(analysis([record('bud_1', 20_000, 20_000), record(null, 0, null)]));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ firing: false });
  });

  it('gives each anomaly a finding per scope and day, high at three times the usual day', () => {
    const anomaly = { scope: 'key' as const, scopeId: 'key_1', metric: 'costMicros' as const, day: '2026-11-18', baselineAmount: 10, zScore: 9 };
    const findings = analyticsFindings(analysis([], [{ ...anomaly, actualAmount: 30, excessAmount: 20 }, { ...anomaly, day: '2026-11-19', actualAmount: 20, excessAmount: 10 }]));
    expect(findings.map((f) => [f.fingerprint, f.severity, f.endsAt])).toEqual([
      ['analytics:anomaly:key:key_1:costMicros:2026-11-18', 'high', '2026-11-26T00:00:00.000Z'],
      ['analytics:anomaly:key:key_1:costMicros:2026-11-19', 'medium', '2026-11-27T00:00:00.000Z'],
    ]);
  });
});
