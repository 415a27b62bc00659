// Holt's linear method with a damped trend on a series with day-of-week factors removed: the
// forecast model once a scope has two weeks of daily history. Factors are multiplicative (a
// weekend at 20% of a weekday stays at 20% as spend grows) and robust (median of each weekday's
// ratio to a centred weekly average, so one spike does not make its weekday look expensive).
// Parameters are picked by grid search on one-step-ahead absolute error, and each update clips its
// error at a few times a running error scale (a Huber-type filter), both for robustness: a one-day
// spike moves the level by a clipped step instead of being carried forward for weeks.
import { mean, median } from './stats.js';

export interface DampedTrendParams {
  readonly alpha: number;
  readonly beta: number;
  readonly phi: number;
}

export interface DampedTrendModel {
  readonly params: DampedTrendParams;
  // Factor of series index i at position i % 7 (positions count from the series' first day).
  readonly weekdayFactors: readonly number[];
  // State after taking in values[t].
  readonly levels: readonly number[];
  readonly trends: readonly number[];
  readonly states: readonly FilterState[];
  readonly values: readonly number[];
}

const week = 7;
// A weekday below this share of an average day is treated as closed: its value says nothing about
// the level, and dividing by a near-zero factor would turn noise into a huge level change.
const closedFactor = 0.05;
const alphas = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9];
const betas = [0, 0.05, 0.1, 0.2];
const phis = [0.8, 0.9, 0.95, 0.98];
// Clip at 2 standard deviations; the running scale is a mean absolute error, about 0.8 of one.
const clipScales = 2.5;
const scaleWeight = 0.1;

export const minDampedTrendDays = 2 * week;

export function weekdayFactors(values: readonly number[]): number[] {
  const ratios: number[][] = Array.from({ length: week }, () => []);
  for (let t = 3; t + 3 < values.length; t++) {
    const centred = mean(values.slice(t - 3, t + 4));
    if (centred > 0) ratios[t % week]!.push(values[t]! / centred);
  }
  const raw = ratios.map((r) => (r.length > 0 ? median(r) : 1));
  const average = mean(raw);
  return average > 0 ? raw.map((f) => f / average) : raw.map(() => 1);
}

export interface FilterState {
  readonly level: number;
  readonly trend: number;
  // Running mean absolute one-step error, in factor-free units.
  readonly scale: number;
}

// One day of the filter: the level predicted for the day, then the state after seeing `observed`
// (factor-free; undefined on a closed weekday, which only carries the state forward).
function step(state: FilterState, params: DampedTrendParams, observed: number | undefined): FilterState {
  const { alpha, beta, phi } = params;
  const predicted = state.level + phi * state.trend;
  let level = predicted;
  let scale = state.scale;
  if (observed !== undefined) {
    // A floor of 1% of the level, so a perfectly flat history can still follow a real change.
    const bound = clipScales * Math.max(scale, 0.01 * Math.abs(predicted));
    const error = Math.min(bound, Math.max(-bound, observed - predicted));
    level = predicted + alpha * error;
    scale = (1 - scaleWeight) * scale + scaleWeight * Math.abs(error);
  }
  return { level, trend: beta * (level - state.level) + (1 - beta) * phi * state.trend, scale };
}

const factorFree = (value: number, factor: number): number | undefined => (factor >= closedFactor ? value / factor : undefined);

const factorFreeSeries = (values: readonly number[], factors: readonly number[]) => values.map((v, t) => factorFree(v, factors[t % week]!));

// The filter over a whole series. `stopAbove` ends a grid candidate as soon as its error passes the
// best one's (it cannot win), which keeps the search cheap.
function run(values: readonly number[], adjusted: readonly (number | undefined)[], factors: readonly number[], params: DampedTrendParams, stopAbove = Infinity): { states: FilterState[]; absError: number } {
  const open = (from: number) => adjusted.slice(from, from + week).filter((v): v is number => v !== undefined);
  const firstWeeks = open(0).concat(open(week));
  let state: FilterState = {
    level: mean(open(0)),
    trend: values.length >= 2 * week ? (mean(open(week)) - mean(open(0))) / week : 0,
    scale: mean(firstWeeks.slice(1).map((v, i) => Math.abs(v - firstWeeks[i]!))),
  };
  const states: FilterState[] = [];
  let absError = 0;
  for (let t = 0; t < values.length && absError <= stopAbove; t++) {
    if (t >= week) absError += Math.abs(values[t]! - (state.level + params.phi * state.trend) * factors[t % week]!);
    state = step(state, params, adjusted[t]);
    states.push(state);
  }
  return { states, absError };
}

export function fitDampedTrend(values: readonly number[]): DampedTrendModel {
  if (values.length < minDampedTrendDays) throw new RangeError(`a damped-trend fit needs ${minDampedTrendDays} days, got ${values.length}`);
  const factors = weekdayFactors(values);
  const adjusted = factorFreeSeries(values, factors);
  let best: { params: DampedTrendParams; states: FilterState[]; absError: number } | undefined;
  for (const alpha of alphas) {
    for (const beta of betas) {
      for (const phi of phis) {
        const fit = run(values, adjusted, factors, { alpha, beta, phi }, best?.absError);
        if (!best || fit.absError < best.absError) best = { params: { alpha, beta, phi }, ...fit };
      }
    }
  }
  const { params, states } = best!;
  return { params, weekdayFactors: factors, levels: states.map((x) => x.level), trends: states.map((x) => x.trend), states, values };
}

// The same parameters and weekday factors run over a longer series (the fitted values first): the
// model as it would stand today had it been fitted back then.
export function refilter(model: DampedTrendModel, values: readonly number[]): DampedTrendModel {
  const { states } = run(values, factorFreeSeries(values, model.weekdayFactors), model.weekdayFactors, model.params);
  return { ...model, levels: states.map((x) => x.level), trends: states.map((x) => x.trend), states, values };
}

// Point forecasts of values[t + 1 … t + days] from the state after values[t]; never negative.
export function projectFrom(model: DampedTrendModel, t: number, days: number): number[] {
  const { phi } = model.params;
  const out: number[] = [];
  let damping = 0;
  for (let k = 1; k <= days; k++) {
    damping += phi ** k;
    const adjusted = model.levels[t]! + damping * model.trends[t]!;
    out.push(Math.max(0, adjusted * model.weekdayFactors[(t + k) % week]!));
  }
  return out;
}

