// Prometheus metrics for the data plane, on a registry of their own (no global state, so tests
// and several gateways in one process do not collide).
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createScrape } from '../cluster/metrics.js';

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    // The text of GET /metrics: this process's registry, or every worker's under `serve --workers`.
    scrape: createScrape(registry),
    requests: new Counter({
      name: 'tollgate_requests_total',
      help: 'Requests answered, by route, model and status.',
      labelNames: ['route', 'model', 'status'] as const,
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'tollgate_tokens_total',
      help: 'Tokens metered, by model and direction (input/output).',
      labelNames: ['model', 'direction'] as const,
      registers: [registry],
    }),
    // What the ledger records as each request's cost, so a dashboard's spend matches reports.
    costMicros: new Counter({
      name: 'tollgate_cost_micros_total',
      help: 'Cost of metered requests in micro-USD, by provider and model (the cost written to the usage ledger).',
      labelNames: ['provider', 'model'] as const,
      registers: [registry],
    }),
    upstreamSeconds: new Histogram({
      name: 'tollgate_upstream_duration_seconds',
      help: 'Time from forwarding a request to the end of the upstream answer.',
      labelNames: ['provider'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    ttfbSeconds: new Histogram({
      name: 'tollgate_time_to_first_byte_seconds',
      help: 'Time from forwarding a request to the first byte of the upstream body.',
      labelNames: ['provider'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    denials: new Counter({
      name: 'tollgate_budget_denials_total',
      help: 'Requests refused by a budget or rate limit, by the bucket that refused.',
      labelNames: ['code', 'scope', 'metric', 'window'] as const,
      registers: [registry],
    }),
    crossings: new Counter({
      name: 'tollgate_budget_crossings_total',
      help: 'Budget threshold crossings reported at settle (once per bucket and window).',
      labelNames: ['level', 'scope', 'metric', 'window'] as const,
      registers: [registry],
    }),
    rebuilds: new Counter({
      name: 'tollgate_budget_rebuilds_total',
      help: 'Budget counters recreated with usage from the ledger: lost ones (Redis restarted empty, embedded restart) and budgets added mid-window.',
      labelNames: ['scope', 'metric', 'window'] as const,
      registers: [registry],
    }),
    lateSettles: new Counter({
      name: 'tollgate_budget_late_settles_total',
      help: 'Settles that landed after the lease reaper had returned their reservation: requests that outlived budget.leaseMs without a renewal (a budget may have admitted past its limit by their usage).',
      registers: [registry],
    }),
    passthrough: new Counter({
      name: 'tollgate_passthrough_requests_total',
      help: 'Unmetered pass-through calls, by endpoint family and outcome (the upstream status, or the code that refused the call).',
      labelNames: ['family', 'outcome'] as const,
      registers: [registry],
    }),
    adminDenials: new Counter({
      name: 'tollgate_admin_denials_total',
      help: 'Admin API requests refused: bad or missing credentials (admin_unauthorized) or role and reach (forbidden), by credential type.',
      labelNames: ['code', 'credential'] as const,
      registers: [registry],
    }),
    overheadSeconds: new Histogram({
      name: 'tollgate_gateway_overhead_seconds',
      help: 'Time the gateway spends before forwarding (accept, authenticate, route, count, reserve).',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
