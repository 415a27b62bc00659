// The anomaly scan's sliding window gives exactly the median and MAD scale that sorting the
// window afresh gives, for every day of long random series (ties, zeros and negative values too).
import { describe, expect, it } from 'vitest';
import { createSortedWindow, madScale, median } from '../../../src/analytics/stats.js';

function prng(seed: number) {
  let a = seed;
  return () => ((a = (a * 16807) % 2147483647) / 2147483647);
}

describe('sorted sliding window', () => {
  for (const capacity of [1, 2, 3, 7, 28]) {
    it(`matches median and madScale of the last ${capacity} values at every step`, () => {
      const random = prng(capacity * 101);
      const window = createSortedWindow(capacity);
      const values: number[] = [];
      for (let t = 0; t < 400; t++) {
        const roll = random();
        // Repeats and zeros make ties; large negatives and fractions exercise the ordering.
        const x = roll < 0.2 ? 0 : roll < 0.35 ? (values.at(-1) ?? 1) : (random() - 0.4) * 10 ** Math.floor(random() * 7);
        window.push(x);
        values.push(x);
        const last = values.slice(-capacity);
        expect(window.size).toBe(last.length);
        expect(window.median()).toBe(median(last));
        expect(window.madScale()).toBe(madScale(last));
      }
    });
  }
});
