import { describe, expect, it } from 'vitest';
import { assessHealth, type HealthInputs, renderHealth } from '../../../src/dashboard-tui/health.js';
import { parsePrometheusText } from '../../../src/dashboard-tui/prometheus-text.js';

const metrics = (queued: number) => parsePrometheusText(`tollgate_usage_oldest_pending_age_seconds 1.5
tollgate_usage_stream_length 12
tollgate_tokenizer_queue_length ${queued}
tollgate_tokenizer_queue_max 256
tollgate_upstream_duration_seconds_bucket{le="0.5",provider="openai"} 99
tollgate_upstream_duration_seconds_bucket{le="1",provider="openai"} 100
tollgate_upstream_duration_seconds_bucket{le="+Inf",provider="openai"} 100
tollgate_upstream_duration_seconds_bucket{le="0.5",provider="anthropic"} 3
tollgate_upstream_duration_seconds_bucket{le="+Inf",provider="anthropic"} 4
`);

const base: HealthInputs = {
  gateway: 'http://gw',
  atMs: 0,
  ready: { httpStatus: 200, body: { status: 'ready', checks: { postgres: 'ok', redis: 'ok', usage: 'ok' } } },
  metrics: metrics(0),
  healthAlerts: [],
};

const byName = (inputs: HealthInputs) => Object.fromEntries(assessHealth(inputs).dependencies.map((d) => [d.name, d]));

describe('system --health assessment', () => {
  it('is healthy when /ready, the tokenizer queue and every provider are fine', () => {
    const report = assessHealth(base);
    expect(report.status).toBe('healthy');
    expect(report.dependencies.map((d) => [d.name, d.state])).toEqual([
      ['gateway', 'ok'], ['postgres', 'ok'], ['redis', 'ok'], ['usage ledger', 'ok'], ['tokenizer pool', 'ok'], ['openai', 'ok'], ['anthropic', 'ok'],
    ]);
    expect(byName(base)['usage ledger']!.detail).toBe('/ready check: ok; oldest unwritten event 1.5 s old, 12 waiting or held');
    expect(byName(base).openai!.detail).toBe('100 answers since start, p99 ≤500 ms');
    expect(byName(base).anthropic!.detail).toBe('4 answers since start, p99 >60 s');
  });

  it('is unhealthy when Redis fails /ready, and degraded when only Postgres does', () => {
    const redisDown = { ...base, ready: { httpStatus: 503, body: { status: 'not_ready', checks: { postgres: 'ok', redis: 'failed', usage: 'ok' } } } };
    expect(assessHealth(redisDown).status).toBe('unhealthy');
    expect(byName(redisDown).redis!.state).toBe('failed');
    const postgresDown = { ...base, ready: { httpStatus: 200, body: { status: 'degraded', checks: { postgres: 'degraded', redis: 'ok', usage: 'degraded' } } } };
    expect(assessHealth(postgresDown).status).toBe('degraded');
    expect(byName(postgresDown)['usage ledger']!.state).toBe('degraded');
  });

  it('fails a full tokenizer queue and degrades one past 80%', () => {
    expect(byName({ ...base, metrics: metrics(256) })['tokenizer pool']).toMatchObject({ state: 'failed', detail: '256 of 256 queued (full: token counts are refused)' });
    expect(byName({ ...base, metrics: metrics(210) })['tokenizer pool']!.state).toBe('degraded');
  });

  it("fails a provider whose 5xx alert is firing and degrades one whose latency alert is", () => {
    const inputs = {
      ...base,
      healthAlerts: [
        { name: 'health.upstream_error_rate', summary: '40% of openai requests failed with a 5xx', figures: { provider: 'openai' } },
        { name: 'health.p99_latency', summary: 'anthropic p99 time to first byte is 12000 ms', figures: { provider: 'anthropic' } },
      ],
    };
    expect(byName(inputs).openai).toMatchObject({ state: 'failed', detail: '100 answers since start, p99 ≤500 ms; 40% of openai requests failed with a 5xx' });
    expect(byName(inputs).anthropic!.state).toBe('degraded');
    expect(assessHealth(inputs).status).toBe('unhealthy');
  });

  it('marks providers unknown, not failed, when the alerts cannot be read', () => {
    const report = assessHealth({ ...base, healthAlerts: { error: 'admin_unauthorized' } });
    expect(report.status).toBe('healthy');
    expect(byName({ ...base, healthAlerts: { error: 'admin_unauthorized' } }).openai!.state).toBe('unknown');
  });

  it('is unhealthy when the gateway does not answer', () => {
    const report = assessHealth({ ...base, ready: { error: 'connect ECONNREFUSED' }, metrics: { error: 'connect ECONNREFUSED' } });
    expect(report.status).toBe('unhealthy');
    expect(renderHealth(report)).toEqual([
      'http://gw: unhealthy (1970-01-01T00:00:00.000Z)',
      '  FAILED   gateway   gateway         /ready unreachable: connect ECONNREFUSED',
      '  UNKNOWN  usage     usage ledger    lag not measured',
      '  UNKNOWN  tokenizer tokenizer pool  queue not on /metrics',
      '  FAILED   gateway   metrics         /metrics unreadable: connect ECONNREFUSED',
    ]);
  });
});
