// Where a daily series is heading, with a range: P10/P50/P90 per day ahead and for the running
// total, and for a budget the end-of-period total and the day it runs out. Amounts are whatever
// the budget counts (micro-USD, tokens or requests), always integers on the way out.
//
// Method by history length: none (nothing to go on), a run rate (under two weeks: the mean of the
// last week, normal band from the day-to-day spread), or a damped trend with weekday factors
// (src/analytics/damped-trend.ts) whose band comes from its own out-of-sample backtest: from every
// past day, the model as fitted on the history up to then (refitted every two weeks) forecasts ahead, and
// the errors it made k days ahead give the quantiles for k days ahead. In-sample errors (the final
// model replayed) gave bands that held only ~70% of 14-day totals; out-of-sample ones hold ~80%.
import { addDays } from './days.js';
import { fitDampedTrend, minDampedTrendDays, projectFrom, refilter } from './damped-trend.js';
import { mean, normalP90, predictiveQuantile, standardDeviation } from './stats.js';

export type ForecastMethod = 'no-history' | 'run-rate' | 'damped-trend-weekly';

export interface AmountBand {
  readonly p10Amount: number;
  readonly p50Amount: number;
  readonly p90Amount: number;
}

export interface SeriesForecast {
  readonly method: ForecastMethod;
  readonly historyDays: number;
  // Index k - 1 holds day k ahead, and the sum of days 1 … k.
  readonly daily: readonly AmountBand[];
  readonly cumulative: readonly AmountBand[];
}

// Quantiles of the error (actual - point forecast) at each horizon, index k - 1. The point
// forecast is the P50: a median correction read off overlapping backtest errors moved it more by
// noise than it removed bias.
interface ErrorQuantiles {
  readonly q10: readonly number[];
  readonly q90: readonly number[];
}

const runRateDays = 7;
// Fewer backtest errors than this at a horizon and its quantiles are extrapolated from a shorter one.
const minErrorSamples = 10;
// The backtest refits the model (parameters and weekday factors) on the history up to its origin
// this often, and only runs the filter forward in between: weekly refits held 80.4% of 14-day
// totals at twice the cost, fortnightly ones 78.8%.
const refitEveryDays = 14;

function normalErrors(horizonDays: number, sdAt: (k: number) => number): ErrorQuantiles {
  const sds = Array.from({ length: horizonDays }, (_, i) => sdAt(i + 1));
  return { q10: sds.map((s) => -normalP90 * s), q90: sds.map((s) => normalP90 * s) };
}

// Empirical quantiles where a horizon has enough samples; beyond that, the last such horizon's
// quantiles grown by `growth(k / k0)`. Undefined when even one day ahead has too few.
function empiricalErrors(samples: readonly number[][], horizonDays: number, growth: (ratio: number) => number): ErrorQuantiles | undefined {
  const q10: number[] = [];
  const q90: number[] = [];
  let known = 0;
  for (let k = 1; k <= horizonDays; k++) {
    const errors = samples[k - 1] ?? [];
    if (errors.length >= minErrorSamples) {
      known = k;
      q10.push(predictiveQuantile(errors, 0.1));
      q90.push(predictiveQuantile(errors, 0.9));
    } else {
      if (known === 0) return undefined;
      const g = growth(k / known);
      q10.push(q10[known - 1]! * g);
      q90.push(q90[known - 1]! * g);
    }
  }
  return { q10, q90 };
}

const scaled = (q: ErrorQuantiles | undefined, by: number): ErrorQuantiles | undefined =>
  q && { q10: q.q10.map((e) => e * by), q90: q.q90.map((e) => e * by) };

// Days' errors add up at least as independent ones would (√k times one day's), unless they cancel,
// which spend does not do: overlapping backtest sums alone came out too narrow in backtests.
const atLeastIndependent = (cumulative: ErrorQuantiles, daily: ErrorQuantiles): ErrorQuantiles => ({
  q10: cumulative.q10.map((e, i) => Math.min(e, daily.q10[0]! * Math.sqrt(i + 1))),
  q90: cumulative.q90.map((e, i) => Math.max(e, daily.q90[0]! * Math.sqrt(i + 1))),
});

function bands(points: readonly number[], errors: ErrorQuantiles): AmountBand[] {
  return points.map((p, i) => {
    const p50 = Math.max(0, p);
    return { p10Amount: Math.min(p50, Math.max(0, p + errors.q10[i]!)), p50Amount: p50, p90Amount: Math.max(p50, p + errors.q90[i]!) };
  });
}

const running = (xs: readonly number[]): number[] => {
  let sum = 0;
  return xs.map((x) => (sum += x));
};

const rounded = (b: AmountBand): AmountBand => ({ p10Amount: Math.round(b.p10Amount), p50Amount: Math.round(b.p50Amount), p90Amount: Math.round(b.p90Amount) });

function runRate(history: readonly number[], horizonDays: number): Omit<SeriesForecast, 'method' | 'historyDays'> {
  const recent = history.slice(-runRateDays);
  const rate = mean(recent);
  // One day tells nothing about spread: assume it as large as the rate itself.
  const sd = history.length >= 2 ? standardDeviation(history) : rate;
  const n = recent.length;
  const points = new Array<number>(horizonDays).fill(rate);
  // A day's error is its own noise plus the error of the estimated rate; over k days the noise
  // adds up as k and the rate's error as k².
  const daily = bands(points, normalErrors(horizonDays, () => sd * Math.sqrt(1 + 1 / n)));
  const cumulative = bands(running(points), normalErrors(horizonDays, (k) => sd * Math.sqrt(k + (k * k) / n)));
  return { daily, cumulative };
}

function dampedTrend(history: readonly number[], horizonDays: number): Omit<SeriesForecast, 'method' | 'historyDays'> {
  const model = fitDampedTrend(history);
  const n = history.length;
  const dailyErrors: number[][] = Array.from({ length: horizonDays }, () => []);
  const cumulativeErrors: number[][] = Array.from({ length: horizonDays }, () => []);
  const oneStep: number[] = [];
  // Errors are kept as shares of the level at their origin and scaled back by today's level:
  // spend noise grows with spend, so a series that doubled must not keep its old, narrower band.
  // Replay from the first origin with two weeks behind it, the same footing the live forecast has.
  let fitted = { model, atDay: -Infinity };
  for (let t = minDampedTrendDays - 1; t < n - 1; t++) {
    if (t - fitted.atDay >= refitEveryDays) fitted = { model: fitDampedTrend(history.slice(0, t + 1)), atDay: t };
    const past = refilter(fitted.model, history.slice(0, t + 1));
    const level = past.levels[t]!;
    const ahead = projectFrom(past, t, Math.min(horizonDays, n - 1 - t));
    oneStep.push(history[t + 1]! - ahead[0]!);
    if (level <= 0) continue;
    let actualSum = 0;
    let forecastSum = 0;
    ahead.forEach((f, i) => {
      const actual = history[t + 1 + i]!;
      actualSum += actual;
      forecastSum += f;
      dailyErrors[i]!.push((actual - f) / level);
      cumulativeErrors[i]!.push((actualSum - forecastSum) / level);
    });
  }
  const points = projectFrom(model, n - 1, horizonDays);
  // Beyond the horizons the history can test, a day's error grows like √k and a running total's
  // like k (errors of consecutive days share the same level and trend mistakes).
  const residualSd = oneStep.length >= 2 ? standardDeviation(oneStep) : standardDeviation(history);
  const level = Math.max(0, model.levels[n - 1]!);
  const dailyQ = scaled(empiricalErrors(dailyErrors, horizonDays, Math.sqrt), level) ?? normalErrors(horizonDays, (k) => residualSd * Math.sqrt(k));
  const cumulativeQ = scaled(empiricalErrors(cumulativeErrors, horizonDays, (r) => r), level) ?? normalErrors(horizonDays, (k) => residualSd * k);
  return { daily: bands(points, dailyQ), cumulative: bands(running(points), atLeastIndependent(cumulativeQ, dailyQ)) };
}

// Forecast of the `horizonDays` days after a history of complete days (oldest first).
export function forecastSeries(history: readonly number[], horizonDays: number): SeriesForecast {
  const historyDays = history.length;
  if (historyDays === 0 || horizonDays <= 0) {
    const zero = { p10Amount: 0, p50Amount: 0, p90Amount: 0 };
    const days = new Array<AmountBand>(Math.max(0, horizonDays)).fill(zero);
    return { method: historyDays === 0 ? 'no-history' : 'run-rate', historyDays, daily: days, cumulative: days };
  }
  const method: ForecastMethod = historyDays >= minDampedTrendDays ? 'damped-trend-weekly' : 'run-rate';
  const { daily, cumulative } = method === 'run-rate' ? runRate(history, horizonDays) : dampedTrend(history, horizonDays);
  return { method, historyDays, daily: daily.map(rounded), cumulative: cumulative.map(rounded) };
}

export interface BudgetForecastInput {
  // Complete days before firstForecastDay, oldest first, in the budget's unit.
  readonly history: readonly number[];
  // Usually today, in the budget's time zone.
  readonly firstForecastDay: string;
  // Days from firstForecastDay to the last day of the period, both included.
  readonly horizonDays: number;
  // Share of firstForecastDay still ahead (0 … 1]; today's spend so far is already in usedAmount.
  readonly firstDayShareAhead?: number;
  // Counted in the period so far.
  readonly usedAmount: number;
  // null: nothing to run out of.
  readonly limitAmount: number | null;
}

export interface DayBand extends AmountBand {
  readonly day: string;
}

export interface BudgetForecast {
  readonly method: ForecastMethod;
  readonly historyDays: number;
  readonly usedAmount: number;
  readonly limitAmount: number | null;
  readonly periodLastDay: string;
  // The period's total (used plus what the rest of it is forecast to add).
  readonly endOfPeriod: AmountBand;
  readonly exhausted: boolean;
  // The first day the total reaches the limit at the P50 (and at the pessimistic P90) pace, within
  // the period; firstForecastDay when already exhausted, null when not reached.
  readonly runOutDay: string | null;
  readonly runOutDayAtP90: string | null;
  // Each remaining day's own spend.
  readonly daily: readonly DayBand[];
}

export function forecastBudget(input: BudgetForecastInput): BudgetForecast {
  const share = Math.min(1, Math.max(0, input.firstDayShareAhead ?? 1));
  const horizonDays = Math.max(1, input.horizonDays);
  const series = forecastSeries(input.history, horizonDays);
  // Only part of today is ahead: scale its band, and take the part behind out of every running total.
  const scale = (b: AmountBand, by: number): AmountBand => ({ p10Amount: Math.round(b.p10Amount * by), p50Amount: Math.round(b.p50Amount * by), p90Amount: Math.round(b.p90Amount * by) });
  const first = series.daily[0]!;
  const behind = scale(first, 1 - share);
  const daily = series.daily.map((b, i) => ({ day: addDays(input.firstForecastDay, i), ...(i === 0 ? scale(b, share) : b) }));
  const totals = series.cumulative.map((b) => ({
    p10Amount: input.usedAmount + Math.max(0, b.p10Amount - behind.p10Amount),
    p50Amount: input.usedAmount + Math.max(0, b.p50Amount - behind.p50Amount),
    p90Amount: input.usedAmount + Math.max(0, b.p90Amount - behind.p90Amount),
  }));
  const limit = input.limitAmount;
  const exhausted = limit !== null && input.usedAmount >= limit;
  const runOut = (pick: (b: AmountBand) => number): string | null => {
    if (limit === null) return null;
    if (exhausted) return input.firstForecastDay;
    const i = totals.findIndex((b) => pick(b) >= limit);
    return i < 0 ? null : addDays(input.firstForecastDay, i);
  };
  return {
    method: series.method,
    historyDays: series.historyDays,
    usedAmount: input.usedAmount,
    limitAmount: limit,
    periodLastDay: addDays(input.firstForecastDay, horizonDays - 1),
    endOfPeriod: totals[totals.length - 1]!,
    exhausted,
    runOutDay: runOut((b) => b.p50Amount),
    runOutDayAtP90: runOut((b) => b.p90Amount),
    daily,
  };
}
