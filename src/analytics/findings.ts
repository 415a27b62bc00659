// Analytics conditions as plain records the alerts plumbing raises and clears: a budget projected
// to run out within its period, and a day of anomalous spend. Fingerprints are stable for the same
// condition (budget, subject and period; scope and day), so re-evaluating never duplicates an
// alert; severity is a hint in the alerts' vocabulary (low | medium | high | critical).
import type { Analysis } from './analyse.js';
import { addDays, daysBetween } from './days.js';

export type SeverityHint = 'low' | 'medium' | 'high' | 'critical';

export interface AnalyticsFinding {
  readonly fingerprint: string;
  readonly source: 'analytics';
  readonly name: 'budget.projected_exhaustion' | 'usage.anomaly';
  readonly severity: SeverityHint;
  // false: the condition no longer holds (clear any alert of this fingerprint).
  readonly firing: boolean;
  readonly summary: string;
  readonly orgId: string;
  readonly scope: { readonly type: string; readonly id: string };
  readonly figures: Readonly<Record<string, number | string | null>>;
  // When the condition lapses by itself, ISO: after the period's last day (read as UTC: a
  // budget's zone shifts it by hours at most), or a week after an anomalous day.
  readonly endsAt: string | null;
}

// At or under this many days to the projected run-out, the finding is urgent.
const urgentDays = 3;
const dayAfter = (day: string) => `${addDays(day, 1)}T00:00:00.000Z`;

// Every forecast budget subject (firing or not, so alerts can clear) and every anomaly.
export function analyticsFindings(analysis: Analysis): AnalyticsFinding[] {
  const exhaustion = (analysis.forecasts ?? [])
    .filter((f) => f.forecast.limitAmount !== null)
    .map((f): AnalyticsFinding => {
      const { forecast } = f;
      const firing = forecast.runOutDay !== null && !forecast.exhausted;
      // Counted from the budget's own today (its first forecast day), in its zone.
      const daysLeft = forecast.runOutDay === null ? null : daysBetween(forecast.daily[0]!.day, forecast.runOutDay);
      const budget = f.budgetId ?? `config:${f.scope}:${f.scopeId}:${f.metric}:${f.window}`;
      return {
        fingerprint: `analytics:exhaustion:${budget}:${f.subjectId}:${forecast.periodLastDay}`,
        source: 'analytics',
        name: 'budget.projected_exhaustion',
        severity: daysLeft !== null && daysLeft <= urgentDays ? 'high' : 'medium',
        firing,
        summary: firing
          ? `${f.scope} ${f.subjectId} is projected to use its ${f.metric}/${f.window} budget (${forecast.limitAmount}) by ${forecast.runOutDay} (P50; ${forecast.method}).`
          : `${f.scope} ${f.subjectId} is not projected to use its ${f.metric}/${f.window} budget this period.`,
        orgId: analysis.orgId,
        scope: { type: f.scope, id: f.subjectId },
        figures: {
          budgetId: f.budgetId, metric: f.metric, window: f.window, limit: forecast.limitAmount, used: forecast.usedAmount,
          p10: forecast.endOfPeriod.p10Amount, p50: forecast.endOfPeriod.p50Amount, p90: forecast.endOfPeriod.p90Amount,
          runOutDay: forecast.runOutDay, runOutDayAtP90: forecast.runOutDayAtP90, daysLeft, method: forecast.method,
        },
        endsAt: dayAfter(forecast.periodLastDay),
      };
    });
  const anomalies = (analysis.anomalies ?? []).map((a): AnalyticsFinding => ({
    fingerprint: `analytics:anomaly:${a.scope}:${a.scopeId}:${a.metric}:${a.day}`,
    source: 'analytics',
    name: 'usage.anomaly',
    // Three times the usual day or more is worth waking someone for.
    severity: a.actualAmount >= 3 * a.baselineAmount ? 'high' : 'medium',
    firing: true,
    summary: `${a.scope} ${a.scopeId} used ${a.actualAmount} ${a.metric} on ${a.day}, ${a.excessAmount} above its usual ${a.baselineAmount} (z ${a.zScore}).`,
    orgId: analysis.orgId,
    scope: { type: a.scope, id: a.scopeId },
    figures: { day: a.day, metric: a.metric, actual: a.actualAmount, baseline: a.baselineAmount, excess: a.excessAmount, zScore: a.zScore },
    // An anomaly of a past day stays listed a week, then lapses.
    endsAt: dayAfter(addDays(a.day, 7)),
  }));
  return [...exhaustion, ...anomalies];
}
