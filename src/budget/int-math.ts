// Integer helpers shared by the in-process store and the engine; lua/*.lua carries the same code.

// ceil(a / b) for non-negative integers, exact even where a / b in doubles rounds onto an integer.
export function ceilDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b < a) q += 1;
  if (q > 0 && (q - 1) * b >= a) q -= 1;
  return q;
}
