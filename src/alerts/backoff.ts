// When a failed delivery is tried again: exponential backoff with full jitter, unless the receiver
// said when (Retry-After, seconds or an HTTP date), which is honoured up to a cap.

export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  // Half fixed, half random: spreads retries of many rows without ever retrying at once.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
