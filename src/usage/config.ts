// Options of the usage pipeline (config key `usage`): batching, claiming, trimming, the lag
// that makes /ready report degraded, and how long the ledger and its rollups are kept.
import { z } from 'zod';

const positiveInt = z.number().int().positive();

export const usageSchema = z
  .object({
    // Events per INSERT. Larger batches amortise the round trip and index work; 500 stays well
    // under a few milliseconds per statement.
    batchSize: positiveInt.max(10_000).default(500),
    // Batches one replica writes at once (one Postgres connection each). Two keeps Postgres busy
    // while the other batch is being read, parsed or acknowledged.
    writeConcurrency: positiveInt.max(16).default(2),
    // Longest an event waits in a replica before it is written when traffic is light.
    flushIntervalMs: positiveInt.default(200),
    consumerGroup: z.string().min(1).default('flusher'),
    // A pending entry idle this long belongs to a dead (or stuck) consumer and may be claimed.
    // Claiming a live consumer's entries is safe (the ledger dedupes) but wasteful, so keep this
    // well above the slowest healthy batch.
    claimIdleMs: positiveInt.default(60_000),
    // How often lag is measured and acknowledged entries are trimmed.
    monitorIntervalMs: positiveInt.default(5_000),
    // /ready reports degraded once the oldest unflushed event is older than this.
    maxLagMs: positiveInt.default(60_000),
    // Trim acknowledged entries from the streams (never unacknowledged ones).
    trim: z.boolean().default(true),
    // How often the org list (one stream per org) is reloaded.
    orgRefreshMs: positiveInt.default(30_000),
    // Cap of the backoff between retries while Postgres or Redis is failing.
    retryMaxMs: positiveInt.default(5_000),
    // Embedded mode only: events held in memory while PGlite catches up.
    maxQueue: positiveInt.default(100_000),
    // Raw events are kept this long, by dropping whole monthly partitions once their last day is
    // older; unset keeps them all. Budget rebuilds of `total` windows read raw events, so they
    // count only what is kept.
    retentionDays: positiveInt.optional(),
    // Hourly and daily rollups (what reports and analyses read) are kept this long; unset keeps them all.
    rollupRetentionDays: positiveInt.optional(),
    // Months of partitions made ahead of the current one, and how often the maintenance task runs.
    partitionsAheadMonths: positiveInt.max(24).default(2),
    maintenanceIntervalMs: positiveInt.default(3_600_000),
  })
  .superRefine((usage, ctx) => {
    if (usage.retentionDays !== undefined && usage.rollupRetentionDays !== undefined && usage.rollupRetentionDays < usage.retentionDays) {
      ctx.addIssue({ code: 'custom', path: ['rollupRetentionDays'], message: `must be at least retentionDays (${usage.retentionDays}): rollups outlive the events they sum` });
    }
  })
  .prefault({});

export type UsageConfig = z.output<typeof usageSchema>;
export type UsageConfigInput = z.input<typeof usageSchema>;
