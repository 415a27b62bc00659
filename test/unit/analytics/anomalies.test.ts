import { describe, expect, it } from 'vitest';
import { dailyAnomalies, defaultAnomalyOptions, detectAnomalies } from '../../../src/analytics/anomalies.js';
import { addDays } from '../../../src/analytics/days.js';
import { seededNormal, series, weekly } from './synthetic.js';

const dollars = (n: number) => n * 1_000_000;
const firstDay = '2026-09-07'; // a Monday

describe('dailyAnomalies', () => {
  it('finds an injected spike: $40 on a day of a ~$10/day noisy scope', () => {
    const noise = seededNormal(1);
    const amounts = series(40, (i) => (i === 30 ? dollars(40) : dollars(10) * (1 + 0.1 * noise())));
    const found = dailyAnomalies(firstDay, amounts);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ day: addDays(firstDay, 30), actualAmount: dollars(40) });
    expect(found[0]!.baselineAmount).toBeGreaterThan(dollars(8));
    expect(found[0]!.baselineAmount).toBeLessThan(dollars(12));
    expect(found[0]!.excessAmount).toBe(found[0]!.actualAmount - found[0]!.baselineAmount);
    expect(found[0]!.zScore).toBeGreaterThan(defaultAnomalyOptions.minZScore);
  });

  it('flags nothing in ordinary noise, with or without a weekly pattern (90 days, three seeds each)', () => {
    for (const seed of [1, 2, 3]) {
      const noise = seededNormal(seed);
      const flat = series(90, () => dollars(20) * (1 + 0.15 * noise()));
      const weekdays = series(90, (i) => dollars(20) * weekly(0.15)(i) * (1 + 0.15 * noise()));
      expect(dailyAnomalies(firstDay, flat)).toEqual([]);
      expect(dailyAnomalies(firstDay, weekdays)).toEqual([]);
    }
  });

  it('flags nothing before 10 days of history, and the same spike once the history is there', () => {
    const spikeAt = (day: number) => series(day + 1, (i) => (i === day ? dollars(100) : dollars(10)));
    expect(dailyAnomalies(firstDay, spikeAt(5))).toEqual([]);
    expect(dailyAnomalies(firstDay, spikeAt(9))).toEqual([]);
    expect(dailyAnomalies(firstDay, spikeAt(10)).map((a) => a.day)).toEqual([addDays(firstDay, 10)]);
  });

  it('does not flag a spike too small to matter: 10x on a 10-cent scope is under the $1 floor', () => {
    const amounts = series(30, (i) => (i === 20 ? 1_000_000 : 100_000));
    expect(dailyAnomalies(firstDay, amounts)).toEqual([]);
    expect(dailyAnomalies(firstDay, amounts, { ...defaultAnomalyOptions, minExcessAmount: 500_000 }).map((a) => a.day)).toEqual([addDays(firstDay, 20)]);
  });

  it('does not flag a rise under the relative floor: +$100 (10%) on a rock-steady $1000/day scope', () => {
    const amounts = series(30, (i) => (i === 20 ? dollars(1100) : dollars(1000)));
    expect(dailyAnomalies(firstDay, amounts)).toEqual([]);
    expect(dailyAnomalies(firstDay, amounts, { ...defaultAnomalyOptions, minExcessPct: 5 }).map((a) => a.day)).toEqual([addDays(firstDay, 20)]);
  });

  it('does not let one spike raise the baseline: a second spike two days later is still found', () => {
    const amounts = series(40, (i) => (i === 25 || i === 27 ? dollars(60) : dollars(10)));
    expect(dailyAnomalies(firstDay, amounts).map((a) => a.day)).toEqual([addDays(firstDay, 25), addDays(firstDay, 27)]);
  });

  it('never flags a drop', () => {
    const amounts = series(30, (i) => (i === 20 ? 0 : dollars(10)));
    expect(dailyAnomalies(firstDay, amounts)).toEqual([]);
  });
});

describe('detectAnomalies', () => {
  it('labels each finding with its scope and keeps only days from sinceDay on', () => {
    const spiky = series(40, (i) => (i === 15 || i === 35 ? dollars(80) : dollars(10)));
    const calm = series(40, () => dollars(10));
    const found = detectAnomalies(
      [
        { scope: 'user', scopeId: 'usr_a', metric: 'costMicros', firstDay, amounts: spiky },
        { scope: 'key', scopeId: 'key_b', metric: 'costMicros', firstDay, amounts: calm },
      ],
      defaultAnomalyOptions,
      addDays(firstDay, 30),
    );
    expect(found).toEqual([expect.objectContaining({ scope: 'user', scopeId: 'usr_a', metric: 'costMicros', day: addDays(firstDay, 35) })]);
  });
});
