// Synthetic daily series with known shape for the forecast and anomaly tests: a seeded generator,
// so a failure reproduces.
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seededNormal(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

// Weekday 1.0, weekend `weekendShare` of it; index 0 is a Monday.
export const weekly = (weekendShare: number) => (i: number): number => (i % 7 >= 5 ? weekendShare : 1);

export function series(days: number, at: (i: number) => number): number[] {
  return Array.from({ length: days }, (_, i) => Math.max(0, Math.round(at(i))));
}
