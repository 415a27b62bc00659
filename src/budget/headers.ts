// x-ratelimit-* headers: for each metric, the bucket with the least left after this request.
// Names follow OpenAI's (x-ratelimit-limit-requests, -remaining-tokens, -reset-requests "6m0s"),
// plus a cost-micros family for spend budgets. Concurrency caps have no header.
import type { BucketPlan } from './store.js';

const family = { requests: 'requests', tokens: 'tokens', costMicros: 'cost-micros' } as const;

// OpenAI's duration format: "20ms", "45s", "6m0s", "1h2m3s".
export function formatResetMs(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const totalS = Math.ceil(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

// When a bucket is full again: counters at their window end, GCRA rates after waitMs.
export function resetInMs(bucket: BucketPlan, waitMs: number, nowMs: number): number | null {
  if (bucket.kind === 'gcra') return waitMs < 0 ? null : waitMs;
  return bucket.resetAtMs === null ? null : bucket.resetAtMs - nowMs;
}

export function rateLimitHeaders(
  buckets: readonly BucketPlan[],
  remaining: readonly number[],
  waitMs: readonly number[],
  nowMs: number,
): Record<string, string> {
  const tightest = new Map<string, number>();
  buckets.forEach((b, i) => {
    if (b.measure === 'inflight') return;
    const name = family[b.measure];
    const best = tightest.get(name);
    if (best === undefined || remaining[i]! < remaining[best]!) tightest.set(name, i);
  });
  const headers: Record<string, string> = {};
  for (const [name, i] of tightest) {
    const bucket = buckets[i]!;
    headers[`x-ratelimit-limit-${name}`] = String(bucket.limit);
    headers[`x-ratelimit-remaining-${name}`] = String(Math.max(0, remaining[i]!));
    const reset = resetInMs(bucket, waitMs[i]!, nowMs);
    if (reset !== null) headers[`x-ratelimit-reset-${name}`] = formatResetMs(reset);
  }
  return headers;
}
