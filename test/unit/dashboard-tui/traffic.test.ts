import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../../src/dashboard-tui/prometheus-text.js';
import { readCounters, trafficBetween } from '../../../src/dashboard-tui/traffic.js';

const scrape = (ok: number, errors: number, refused: number, costMicros: number, fast: number, slow: number) => `# HELP tollgate_requests_total Requests answered, by route, model and status.
# TYPE tollgate_requests_total counter
tollgate_requests_total{route="/v1/chat/completions",model="gpt-4o-mini",status="200"} ${ok}
tollgate_requests_total{route="/v1/chat/completions",model="gpt-4o-mini",status="502"} ${errors}
tollgate_requests_total{route="/v1/chat/completions",model="odd \\"quoted\\", name",status="429"} ${refused}
tollgate_cost_micros_total{provider="openai",model="gpt-4o-mini"} ${costMicros}
tollgate_upstream_duration_seconds_bucket{le="0.1",provider="openai"} ${fast}
tollgate_upstream_duration_seconds_bucket{le="1",provider="openai"} ${fast + slow}
tollgate_upstream_duration_seconds_bucket{le="+Inf",provider="openai"} ${fast + slow}
tollgate_upstream_duration_seconds_count{provider="openai"} ${fast + slow}
`;

describe('traffic from successive /metrics scrapes', () => {
  it('reads label values with escaped quotes and commas', () => {
    const samples = parsePrometheusText(scrape(1, 0, 2, 0, 0, 0));
    expect(samples.find((s) => s.labels.status === '429')).toMatchObject({ name: 'tollgate_requests_total', labels: { model: 'odd "quoted", name' }, value: 2 });
    expect(samples.find((s) => s.labels.le === '+Inf')?.value).toBe(0);
  });

  it('gives rates, shares and the p99 bucket of the interval, not of the whole history', () => {
    const older = readCounters(parsePrometheusText(scrape(100, 0, 0, 1_000_000, 100, 0)), 0);
    // 20 new answers in 2 s: 16 ok, 2 errors, 2 refused; 10 fast and 10 slow upstream answers.
    const latest = readCounters(parsePrometheusText(scrape(116, 2, 2, 1_300_000, 110, 10)), 2_000);
    expect(trafficBetween(older, latest)).toEqual({
      spanMs: 2_000, requestsTotal: 120, costMicrosTotal: 1_300_000,
      requestsPerSecond: 10, errorShare: 0.1, refusedShare: 0.1, p99LatencyMs: 1_000, spendMicrosPerMinute: 9_000_000,
    });
  });

  it('counts a restarted gateway from zero instead of showing negative rates', () => {
    const older = readCounters(parsePrometheusText(scrape(500, 5, 0, 9_000_000, 400, 100)), 0);
    const latest = readCounters(parsePrometheusText(scrape(10, 0, 0, 60_000, 10, 0)), 1_000);
    expect(trafficBetween(older, latest)).toMatchObject({ requestsPerSecond: 10, errorShare: 0, p99LatencyMs: 100, spendMicrosPerMinute: 3_600_000 });
  });

  it('has no rates from one scrape, and no share or p99 when nothing was answered', () => {
    const one = readCounters(parsePrometheusText(scrape(5, 0, 0, 0, 5, 0)), 0);
    expect(trafficBetween(undefined, one)).toMatchObject({ requestsTotal: 5, requestsPerSecond: null, p99LatencyMs: null });
    expect(trafficBetween(one, { ...one, atMs: 2_000 })).toMatchObject({ requestsPerSecond: 0, errorShare: null, p99LatencyMs: null, spendMicrosPerMinute: 0 });
  });
});
