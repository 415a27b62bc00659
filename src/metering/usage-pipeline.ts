// Where usage events go after settle. With Redis, settle itself appends them to the per-org
// streams and the flusher moves them to Postgres; the in-process queue only takes what could not
// reach Redis (fail-open, settle during an outage). Embedded, the queue is the whole pipeline.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RuntimeConfig } from '../config/load.js';
import type { Database } from '../db/database.js';
import type { RedisClient } from '../redis/connect.js';
import { createEmbeddedUsageQueue } from '../usage/embedded-queue.js';
import type { UsageEvent } from '../usage/event.js';
import { isLagging } from '../usage/lag.js';
import { orgIdsFrom } from '../usage/org-ids.js';
import { createStreamFlusher } from '../usage/stream-flusher.js';

export interface UsagePipeline {
  push(event: UsageEvent): void;
  // Throws while the oldest unwritten event is older than usage.maxLagMs (readiness: degraded).
  check(): void;
  stop(): Promise<void>;
}

export interface UsagePipelineOptions {
  config: RuntimeConfig;
  database: Database;
  redis: RedisClient | undefined;
  registry: Registry;
  logger: Logger;
}

export function startUsagePipeline({ config, database, redis, registry, logger }: UsagePipelineOptions): UsagePipeline {
  const queue = createEmbeddedUsageQueue({
    database,
    batchSize: config.usage.batchSize,
    flushIntervalMs: config.usage.flushIntervalMs,
    maxQueue: config.usage.maxQueue,
    registry,
    logger,
  });
  const flusher = redis
    ? createStreamFlusher({ redis, keyPrefix: config.redisKeyPrefix, database, listOrgIds: orgIdsFrom(database), config: config.usage, registry, logger })
    : undefined;
  void flusher?.start();
  return {
    push: (event) => queue.push(event),
    check() {
      for (const lag of flusher ? [flusher.lag(), queue.lag()] : [queue.lag()]) {
        if (isLagging(lag, config.usage)) throw new Error(`usage ledger is ${Math.round(lag.oldestPendingMs / 1000)} s behind`);
      }
    },
    async stop() {
      await flusher?.stop();
      await queue.close();
    },
  };
}
