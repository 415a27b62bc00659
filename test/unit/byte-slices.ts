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

// The cuts every usage parser is checked against, by name.
export const cuts = [
  ['whole', whole],
  ['one byte at a time', bytewise],
  ['random slices', randomSlices(7)],
  ['other random slices', randomSlices(991)],
] as const;

// The bytes cut as `cut` says.
export function slices(bytes: Buffer, cut: (n: number) => number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const size of cut(bytes.length)) {
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}
