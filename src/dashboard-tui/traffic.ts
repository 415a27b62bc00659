// The gateway's traffic from two scrapes of /metrics: cumulative counters read from one scrape,
// and rates, error share and p99 latency from the difference between two. A counter that went
// down means the gateway restarted, so the later scrape alone is the interval's traffic.
import type { Sample } from './prometheus-text.js';

export interface Counters {
  readonly atMs: number;
  readonly requests: number;
  // Answered 5xx (the gateway's or the upstream's).
  readonly errors: number;
  // Answered 4xx: refused by a budget, a rate limit, auth or validation.
  readonly refused: number;
  readonly costMicros: number;
  // Upstream answers by cumulative bucket, all providers: [upper bound in ms, count], +Inf last.
  readonly latencyBuckets: ReadonlyArray<readonly [number, number]>;
}

export interface Traffic {
  // What the rates cover; 0 until a second scrape exists.
  readonly spanMs: number;
  readonly requestsTotal: number;
  readonly requestsPerSecond: number | null;
  // Shares of the interval's answers, 0..1; null without answers.
  readonly errorShare: number | null;
  readonly refusedShare: number | null;
  // Bucket bound holding the 99th percentile of the interval's upstream answers; Infinity past the last bound.
  readonly p99LatencyMs: number | null;
  readonly spendMicrosPerMinute: number | null;
  readonly costMicrosTotal: number;
}

const sum = (samples: readonly Sample[], name: string, keep: (s: Sample) => boolean = () => true) =>
  samples.reduce((total, s) => (s.name === name && keep(s) ? total + s.value : total), 0);

export function readCounters(samples: readonly Sample[], atMs: number): Counters {
  const status = (s: Sample) => Number(s.labels.status);
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== 'tollgate_upstream_duration_seconds_bucket') continue;
    const boundMs = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Math.round(Number(s.labels.le) * 1000);
    buckets.set(boundMs, (buckets.get(boundMs) ?? 0) + s.value);
  }
  return {
    atMs,
    requests: sum(samples, 'tollgate_requests_total'),
    errors: sum(samples, 'tollgate_requests_total', (s) => status(s) >= 500),
    refused: sum(samples, 'tollgate_requests_total', (s) => status(s) >= 400 && status(s) < 500),
    costMicros: sum(samples, 'tollgate_cost_micros_total'),
    latencyBuckets: [...buckets].sort((a, b) => a[0] - b[0]),
  };
}

// The q-quantile's bucket bound over cumulative bucket counts (the last bucket is +Inf).
export function quantileBoundMs(buckets: ReadonlyArray<readonly [number, number]>, q: number): number | null {
  const count = buckets.at(-1)?.[1] ?? 0;
  if (count <= 0) return null;
  const target = Math.ceil(q * count);
  return buckets.find(([, c]) => c >= target)?.[0] ?? Number.POSITIVE_INFINITY;
}

export function trafficBetween(older: Counters | undefined, latest: Counters): Traffic {
  const restarted = older !== undefined && (latest.requests < older.requests || latest.costMicros < older.costMicros);
  const base = older && !restarted ? older : undefined;
  const spanMs = older ? latest.atMs - older.atMs : 0;
  const totals = { requestsTotal: latest.requests, costMicrosTotal: latest.costMicros };
  if (!older || spanMs <= 0) return { spanMs: 0, ...totals, requestsPerSecond: null, errorShare: null, refusedShare: null, p99LatencyMs: null, spendMicrosPerMinute: null };
  const requests = latest.requests - (base?.requests ?? 0);
  const share = (part: number) => (requests > 0 ? part / requests : null);
  const deltas = latest.latencyBuckets.map(([bound, count]) => [bound, count - (base?.latencyBuckets.find(([b]) => b === bound)?.[1] ?? 0)] as const);
  return {
    spanMs,
    ...totals,
    requestsPerSecond: (requests * 1000) / spanMs,
    errorShare: share(latest.errors - (base?.errors ?? 0)),
    refusedShare: share(latest.refused - (base?.refused ?? 0)),
    p99LatencyMs: quantileBoundMs(deltas, 0.99),
    spendMicrosPerMinute: Math.round(((latest.costMicros - (base?.costMicros ?? 0)) * 60_000) / spanMs),
  };
}
