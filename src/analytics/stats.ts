// Small robust statistics shared by the forecast and anomaly code.

export const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);

export function standardDeviation(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

// Ascending, as a typed array's numeric sort: several times faster than sorting an array with a
// comparator, which the anomaly scan does twice per day of every one of ~1,500 series.
const ascending = (xs: readonly number[]): Float64Array => Float64Array.from(xs).sort();

// Linear interpolation between order statistics (the "type 7" quantile of R and numpy's default).
export function quantile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = ascending(xs);
  const at = (sorted.length - 1) * p;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

// The Weibull ("type 6") quantile, position p(n + 1): the interval between its P10 and P90 holds
// 80% of new draws on average even for a handful of samples, where type 7 holds noticeably less.
// Positions outside the sample are clamped to its extremes.
export function predictiveQuantile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = ascending(xs);
  const at = Math.min(sorted.length, Math.max(1, p * (sorted.length + 1))) - 1;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

const madFactor = 1.4826;

// Median absolute deviation scaled to estimate a normal standard deviation.
export function madScale(xs: readonly number[]): number {
  const m = median(xs);
  return madFactor * median(xs.map((x) => Math.abs(x - m)));
}

// The median of an ascending sample, as `median` computes it.
function sortedMedian(sorted: ArrayLike<number>, length: number): number {
  if (length === 0) return 0;
  const at = (length - 1) * 0.5;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

// A sliding window of at most `capacity` values kept in ascending order, whose median and
// madScale come out equal to `median` and `madScale` of the same values in linear time: the
// deviations left and right of the median are each already in order, so merging them sorts them.
export function createSortedWindow(capacity: number) {
  const values: number[] = [];
  const sorted = new Float64Array(capacity);
  const deviations = new Float64Array(capacity);
  const position = (x: number) => {
    let lo = 0;
    let hi = values.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    push(x: number): void {
      const n = values.length;
      if (n === capacity) {
        const i = position(values.shift()!);
        sorted.copyWithin(i, i + 1, n);
      }
      const m = values.length;
      const i = position(x);
      sorted.copyWithin(i + 1, i, m);
      sorted[i] = x;
      values.push(x);
    },
    get size(): number {
      return values.length;
    },
    median(): number {
      return sortedMedian(sorted, values.length);
    },
    madScale(): number {
      const n = values.length;
      const m = sortedMedian(sorted, n);
      let right = position(m);
      let left = right - 1;
      for (let k = 0; k < n; k++) {
        const fromLeft = left >= 0 ? Math.abs(sorted[left]! - m) : Infinity;
        const fromRight = right < n ? Math.abs(sorted[right]! - m) : Infinity;
        if (fromLeft <= fromRight) {
          deviations[k] = fromLeft;
          left--;
        } else {
          deviations[k] = fromRight;
          right++;
        }
      }
      return madFactor * sortedMedian(deviations, n);
    },
  };
}

// The 10th/90th percentile of a standard normal, for bands when too few errors are known to read
// quantiles off them.
export const normalP90 = 1.2815515655446004;
