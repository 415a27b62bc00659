import { describe, expect, it } from 'vitest';
import { forecastBudget, forecastSeries } from '../../../src/analytics/forecast.js';
import { seededNormal, series, weekly } from './synthetic.js';

describe('forecastSeries', () => {
  it('has no method and a zero band with no history', () => {
    const f = forecastSeries([], 3);
    expect(f.method).toBe('no-history');
    expect(f.cumulative[2]).toEqual({ p10Amount: 0, p50Amount: 0, p90Amount: 0 });
  });

  it('uses the run rate under two weeks of history: 5 days at 1000 give 1000 a day and a band of zero width', () => {
    const f = forecastSeries(series(5, () => 1000), 10);
    expect(f.method).toBe('run-rate');
    expect(f.daily[0]).toEqual({ p10Amount: 1000, p50Amount: 1000, p90Amount: 1000 });
    expect(f.cumulative[9]).toEqual({ p10Amount: 10_000, p50Amount: 10_000, p90Amount: 10_000 });
  });

  it('widens the run-rate band with the day-to-day spread and with the horizon', () => {
    const f = forecastSeries([800, 1200, 800, 1200, 800, 1200], 10);
    expect(f.daily[0]!.p50Amount).toBe(1000);
    expect(f.daily[0]!.p10Amount).toBeLessThan(800);
    expect(f.daily[0]!.p90Amount).toBeGreaterThan(1200);
    const width = (k: number) => f.cumulative[k]!.p90Amount - f.cumulative[k]!.p10Amount;
    expect(width(9)).toBeGreaterThan(width(0) * 3);
  });

  it('switches to the damped trend at two weeks and reproduces a constant rate exactly', () => {
    const f = forecastSeries(series(30, () => 1000), 14);
    expect(f.method).toBe('damped-trend-weekly');
    for (const day of f.daily) expect(day).toEqual({ p10Amount: 1000, p50Amount: 1000, p90Amount: 1000 });
    expect(f.cumulative[13]!.p50Amount).toBe(14_000);
  });

  it('follows a linear trend: 1000 + 50/day over 42 days continues near 3100, 3150, … for the next week', () => {
    const f = forecastSeries(series(42, (i) => 1000 + 50 * i), 7);
    f.daily.forEach((day, i) => expect(Math.abs(day.p50Amount - (1000 + 50 * (42 + i)))).toBeLessThan(0.03 * (1000 + 50 * (42 + i))));
    const straight = Array.from({ length: 7 }, (_, i) => 1000 + 50 * (42 + i)).reduce((a, b) => a + b);
    expect(Math.abs(f.cumulative[6]!.p50Amount - straight)).toBeLessThan(straight * 0.03);
  });

  it('keeps a weekly pattern: weekdays at 1000 and weekends at 200 come back on the right days', () => {
    const shape = weekly(0.2);
    const f = forecastSeries(series(56, (i) => 1000 * shape(i)), 14);
    // Day 56 is a Monday again (index 0 was one).
    f.daily.forEach((day, i) => expect(Math.abs(day.p50Amount - 1000 * shape(56 + i))).toBeLessThanOrEqual(20));
    expect(Math.abs(f.cumulative[13]!.p50Amount - 2 * (5 * 1000 + 2 * 200))).toBeLessThanOrEqual(100);
  });

  it('does not carry an injected spike forward: a day at 30x three weeks back leaves the rate near 1000', () => {
    const history = series(42, (i) => (i === 20 ? 30_000 : 1000));
    const f = forecastSeries(history, 7);
    for (const day of f.daily) expect(Math.abs(day.p50Amount - 1000)).toBeLessThan(100);
  });

  it('covers about 80% of held-back days with its P10–P90 band on a noisy trending weekly series (backtest)', () => {
    const noise = seededNormal(42);
    const shape = weekly(0.4);
    const days = 160;
    const actual = series(days, (i) => (2000 + 8 * i) * shape(i) * (1 + 0.2 * noise()));
    let inside = 0;
    let total = 0;
    for (let origin = 28; origin + 7 <= days; origin += 3) {
      const f = forecastSeries(actual.slice(0, origin), 7);
      f.daily.forEach((band, k) => {
        const value = actual[origin + k]!;
        total++;
        if (value >= band.p10Amount && value <= band.p90Amount) inside++;
      });
    }
    const coverage = inside / total;
    console.log(`P10–P90 coverage of held-back days: ${(coverage * 100).toFixed(1)}% of ${total}`);
    expect(coverage).toBeGreaterThanOrEqual(0.7);
    expect(coverage).toBeLessThanOrEqual(0.9);
  });

  it('covers about 80% of held-back 14-day totals with its P10–P90 band across trending, flat and drifting series (backtest)', () => {
    const shapes = [
      (n: () => number) => (i: number) => (2000 + 8 * i) * weekly(0.4)(i) * (1 + 0.2 * n()),
      (n: () => number) => () => 1000 + 150 * n(),
      (n: () => number) => {
        let level = 1000;
        return () => (level = Math.max(100, level + 30 * n())) * (1 + 0.1 * n());
      },
    ];
    let inside = 0;
    let total = 0;
    for (const shape of shapes) {
      for (const seed of [1, 2]) {
        const actual = series(150, shape(seededNormal(seed)));
        for (let origin = 28; origin + 14 <= actual.length; origin += 5) {
          const band = forecastSeries(actual.slice(0, origin), 14).cumulative[13]!;
          const sum = actual.slice(origin, origin + 14).reduce((a, b) => a + b);
          total++;
          if (sum >= band.p10Amount && sum <= band.p90Amount) inside++;
        }
      }
    }
    console.log(`P10–P90 coverage of held-back 14-day totals: ${((inside / total) * 100).toFixed(1)}% of ${total}`);
    expect(inside / total).toBeGreaterThanOrEqual(0.7);
    expect(inside / total).toBeLessThanOrEqual(0.9);
  });
});

describe('forecastBudget', () => {
  it('projects the period total and the run-out day at the P50 pace', () => {
    const f = forecastBudget({ history: series(30, () => 1000), firstForecastDay: '2026-11-11', horizonDays: 20, usedAmount: 10_000, limitAmount: 25_000 });
    expect(f.endOfPeriod).toEqual({ p10Amount: 30_000, p50Amount: 30_000, p90Amount: 30_000 });
    expect(f.periodLastDay).toBe('2026-11-30');
    // 10,000 + 1,000 a day reaches 25,000 on the 15th day ahead.
    expect(f.runOutDay).toBe('2026-11-25');
    expect(f.exhausted).toBe(false);
  });

  it('counts only the part of today still ahead', () => {
    const f = forecastBudget({ history: series(30, () => 1000), firstForecastDay: '2026-11-30', horizonDays: 1, firstDayShareAhead: 0.25, usedAmount: 750, limitAmount: null });
    expect(f.endOfPeriod.p50Amount).toBe(1000);
    expect(f.daily[0]!.p50Amount).toBe(250);
    expect(f.runOutDay).toBeNull();
  });

  it('gives no run-out day when the limit is beyond the period, and today when it is already reached', () => {
    const calm = forecastBudget({ history: series(10, () => 100), firstForecastDay: '2026-11-20', horizonDays: 11, usedAmount: 1000, limitAmount: 1_000_000 });
    expect(calm.runOutDay).toBeNull();
    const spent = forecastBudget({ history: series(10, () => 100), firstForecastDay: '2026-11-20', horizonDays: 11, usedAmount: 5000, limitAmount: 5000 });
    expect(spent).toMatchObject({ exhausted: true, runOutDay: '2026-11-20' });
  });

  it('names an earlier or equal run-out day at the P90 pace than at the P50 pace on a noisy series', () => {
    const noise = seededNormal(7);
    const f = forecastBudget({ history: series(40, () => 1000 * (1 + 0.3 * noise())), firstForecastDay: '2026-11-01', horizonDays: 30, usedAmount: 0, limitAmount: 25_000 });
    expect(f.runOutDay).not.toBeNull();
    expect(f.runOutDayAtP90! <= f.runOutDay!).toBe(true);
    expect(f.endOfPeriod.p10Amount).toBeLessThan(f.endOfPeriod.p50Amount);
    expect(f.endOfPeriod.p90Amount).toBeGreaterThan(f.endOfPeriod.p50Amount);
  });
});
