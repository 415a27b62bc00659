// Ways to cut a byte stream into chunks, for parsers that must give the same answer however the
// bytes arrive: whole, one byte at a time, or seeded random slices (repeatable).
export const whole = (n: number) => [n];
export const bytewise = (n: number) => Array.from({ length: n }, () => 1);
export function randomSlices(seed: number) {
  return (n: number) => {
    const sizes: number[] = [];
    let s = seed;
    for (let left = n; left > 0; ) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      const size = Math.min(left, 1 + (s % 37));
      sizes.push(size);
      left -= size;
    }
    return sizes;
  };
}
