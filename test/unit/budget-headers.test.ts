// x-ratelimit-* headers: the tightest bucket per metric, OpenAI's reset format.
import { describe, expect, it } from 'vitest';
import { formatResetMs, rateLimitHeaders } from '../../src/budget/headers.js';
import type { BucketPlan } from '../../src/budget/store.js';

const bucket = (over: Partial<BucketPlan>): BucketPlan => ({
  ref: { scope: 'user', scopeId: 'u', metric: 'tokens', window: 'day' },
  kind: 'counter',
  measure: 'tokens',
  key: 'k',
  limit: 100,
  clamp: false,
  ttlMs: 0,
  sliding: false,
  warnAt: 80,
  criticalAt: 95,
  periodMs: 0,
  resetAtMs: null,
  ledgerFromMs: null,
  ...over,
});

describe('rate limit headers', () => {
  it("formats resets the way OpenAI's headers do", () => {
    expect([20, 999, 1_000, 45_500, 360_000, 3_723_000].map(formatResetMs)).toEqual(['20ms', '999ms', '1s', '46s', '6m0s', '1h2m3s']);
  });

  it('reports, per metric, the bucket with the least left, never below zero', () => {
    const nowMs = 1_000_000;
    const headers = rateLimitHeaders(
      [
        bucket({ limit: 1_000, resetAtMs: nowMs + 60_000 }),
        bucket({ limit: 500, resetAtMs: nowMs + 3_600_000 }),
        bucket({ kind: 'gcra', measure: 'requests', limit: 60, periodMs: 60_000 }),
        bucket({ measure: 'costMicros', limit: 5_000, resetAtMs: null }),
        bucket({ measure: 'inflight', limit: 2 }),
      ],
      [700, 200, 59, -5, 1],
      [0, 0, 1_000, 0, 0],
      nowMs,
    );
    expect(headers).toEqual({
      'x-ratelimit-limit-tokens': '500',
      'x-ratelimit-remaining-tokens': '200',
      'x-ratelimit-reset-tokens': '1h0m0s',
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-cost-micros': '5000',
      'x-ratelimit-remaining-cost-micros': '0',
    });
  });
});
