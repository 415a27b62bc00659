// Days on which a scope used far more than its own recent pattern predicts. The baseline is an
// exponentially weighted level times weekday factors; a day is anomalous when its residual is a
// large robust z-score (distance from the median of recent residuals in MADs), and only when the
// excess is big enough to matter in absolute and in relative terms, and only after enough history
// to know what normal is. Spikes are the concern (money), so only days above the baseline count.
import { weekdayFactors } from './damped-trend.js';
import { addDays } from './days.js';
import type { ScopeSeries } from './scope-series.js';
import { createSortedWindow, mean } from './stats.js';

export interface AnomalyOptions {
  // Days of history before the first day that may be flagged.
  readonly minHistoryDays: number;
  readonly minZScore: number;
  // The day must exceed its baseline by at least this much, in the series' unit…
  readonly minExcessAmount: number;
  // …and by at least this percentage of the baseline.
  readonly minExcessPct: number;
  // Weight of the newest day in the baseline level.
  readonly alpha: number;
  // Residuals the median and MAD are read from.
  readonly residualWindowDays: number;
}

export const defaultAnomalyOptions: AnomalyOptions = Object.freeze({
  minHistoryDays: 10,
  minZScore: 4,
  minExcessAmount: 1_000_000,
  minExcessPct: 50,
  alpha: 0.3,
  residualWindowDays: 28,
});

export interface DayAnomaly {
  readonly day: string;
  readonly actualAmount: number;
  readonly baselineAmount: number;
  readonly excessAmount: number;
  // Robust z-score, to two decimals.
  readonly zScore: number;
}

export interface ScopeAnomaly extends DayAnomaly {
  readonly scope: ScopeSeries['scope'];
  readonly scopeId: string;
  readonly metric: ScopeSeries['metric'];
}

const week = 7;
const closedFactor = 0.05;
// Weekday factors need two weeks; before that every day counts alike.
const seasonalDays = 2 * week;
// A spread of zero (a perfectly steady scope) would make any wobble infinitely anomalous.
const minScaleShare = 0.02;

export function dailyAnomalies(firstDay: string, amounts: readonly number[], options: AnomalyOptions = defaultAnomalyOptions): DayAnomaly[] {
  const factors = amounts.length >= seasonalDays ? weekdayFactors(amounts) : new Array<number>(week).fill(1);
  const factorAt = (t: number) => Math.max(factors[t % week]!, closedFactor);
  const found: DayAnomaly[] = [];
  // The last residualWindowDays residuals, kept sorted (the median and MAD of every day's window).
  const recent = createSortedWindow(options.residualWindowDays);
  let level = mean(amounts.slice(0, Math.min(week, amounts.length)).map((v, t) => v / factorAt(t)));
  for (let t = 0; t < amounts.length; t++) {
    const actual = amounts[t]!;
    const baseline = level * factorAt(t);
    const residual = actual - baseline;
    let bound = Infinity;
    if (t >= options.minHistoryDays) {
      const scale = Math.max(recent.madScale(), minScaleShare * baseline, 1);
      const z = (residual - recent.median()) / scale;
      const excess = actual - baseline;
      if (z >= options.minZScore && excess >= options.minExcessAmount && excess * 100 >= options.minExcessPct * baseline) {
        found.push({ day: addDays(firstDay, t), actualAmount: actual, baselineAmount: Math.round(baseline), excessAmount: Math.round(excess), zScore: Math.round(z * 100) / 100 });
      }
      // The level follows a flagged day only as far as a large ordinary day would move it.
      bound = 3 * scale;
    }
    recent.push(residual);
    const clipped = Math.min(bound, Math.max(-bound, residual));
    level = Math.max(0, level + (options.alpha * clipped) / factorAt(t));
  }
  return found;
}

// Every scope's anomalous days, newest last, from `sinceDay` on when given.
export function detectAnomalies(series: readonly ScopeSeries[], options: AnomalyOptions = defaultAnomalyOptions, sinceDay?: string): ScopeAnomaly[] {
  return series.flatMap((s) =>
    dailyAnomalies(s.firstDay, s.amounts, options)
      .filter((a) => sinceDay === undefined || a.day >= sinceDay)
      .map((a) => ({ scope: s.scope, scopeId: s.scopeId, metric: s.metric, ...a })),
  );
}
