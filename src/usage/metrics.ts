// The usage pipeline's Prometheus metrics, registered on the registry the server hands in.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface UsageMetrics {
  streamLength: Gauge;
  oldestPendingAge: Gauge;
  queueLength: Gauge;
  flushed: Counter;
  duplicates: Counter;
  claimed: Counter;
  rejected: Counter<'reason'>;
  errors: Counter<'stage'>;
  batchDuration: Histogram;
}

// The stream gauges measure the shared streams, so every worker of a process group reports the same
// value and their merged scrape takes the largest rather than the sum.
// Idempotent per registry, so a flusher restarted in the same process (tests, reloads) reuses
// the series instead of failing on a duplicate name.
export function createUsageMetrics(registry: Registry): UsageMetrics {
  const once = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  const registers = [registry];
  return {
    streamLength: once('tollgate_usage_stream_length', () => new Gauge({ name: 'tollgate_usage_stream_length', help: 'Entries held in the usage streams (all orgs), flushed or not yet trimmed.', aggregator: 'max', registers })),
    oldestPendingAge: once('tollgate_usage_oldest_pending_age_seconds', () => new Gauge({ name: 'tollgate_usage_oldest_pending_age_seconds', help: 'Age of the oldest usage event not yet committed to Postgres.', aggregator: 'max', registers })),
    queueLength: once('tollgate_usage_queue_length', () => new Gauge({ name: 'tollgate_usage_queue_length', help: 'Usage events waiting in the embedded in-process queue.', registers })),
    flushed: once('tollgate_usage_events_flushed_total', () => new Counter({ name: 'tollgate_usage_events_flushed_total', help: 'Usage events written to the ledger.', registers })),
    duplicates: once('tollgate_usage_events_duplicate_total', () => new Counter({ name: 'tollgate_usage_events_duplicate_total', help: 'Redelivered usage events skipped because the ledger already had them.', registers })),
    claimed: once('tollgate_usage_events_claimed_total', () => new Counter({ name: 'tollgate_usage_events_claimed_total', help: 'Usage stream entries claimed from idle (dead or stuck) consumers.', registers })),
    rejected: once('tollgate_usage_events_rejected_total', () => new Counter({ name: 'tollgate_usage_events_rejected_total', help: 'Usage events not written: invalid entry, refused by Postgres, or embedded queue full.', labelNames: ['reason'] as const, registers })),
    errors: once('tollgate_usage_flush_errors_total', () => new Counter({ name: 'tollgate_usage_flush_errors_total', help: 'Failed flush attempts (retried) by the store that failed.', labelNames: ['stage'] as const, registers })),
    batchDuration: once('tollgate_usage_flush_batch_duration_seconds', () => new Histogram({ name: 'tollgate_usage_flush_batch_duration_seconds', help: 'Time to write one batch to Postgres.', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers })),
  };
}
