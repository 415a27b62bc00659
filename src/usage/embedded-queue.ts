// Embedded mode's usage pipeline: the in-process budget store hands each event to push(), and
// batches go into PGlite through the same exactly-once ledger writer as the Redis flusher.
// Durability is the process's: events still queued when it dies are lost, which is the price of
// running without Redis (production runs the stream flusher).
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Database } from '../db/database.js';
import type { UsageEvent } from './event.js';
import type { UsageLag } from './lag.js';
import { writeUsageEvents } from './ledger.js';
import { createUsageMetrics } from './metrics.js';

export interface EmbeddedUsageQueueOptions {
  database: Pick<Database, 'db'>;
  batchSize: number;
  flushIntervalMs: number;
  // Bound on queued events. When full, push() drops the new event (logged and counted as
  // tollgate_usage_events_rejected_total{reason="queue_full"}) rather than grow without limit
  // or block a request: budgets were already charged in memory, only the ledger row is lost.
  maxQueue: number;
  registry: Registry;
  logger: Logger;
}

export interface EmbeddedUsageQueue {
  // Never blocks and never throws: called on the request path after settle.
  push(event: UsageEvent): void;
  // Writes everything queued so far; rejects (keeping the events queued) if PGlite fails.
  flush(): Promise<void>;
  // Stops the timer and flushes what is left; later pushes are dropped and counted.
  close(): Promise<void>;
  lag(): UsageLag;
}

interface Queued {
  event: UsageEvent;
  queuedAtMs: number;
}

const dropLogEveryMs = 10_000;

export function createEmbeddedUsageQueue(options: EmbeddedUsageQueueOptions): EmbeddedUsageQueue {
  const { database, batchSize, maxQueue } = options;
  const log = options.logger.child({ component: 'usage-queue' });
  const metrics = createUsageMetrics(options.registry);
  const queue: Queued[] = [];
  let draining: Promise<void> | undefined;
  let closed = false;
  let dropsSinceLog = 0;
  let lastDropLogMs = 0;

  const timer = setInterval(() => flushInBackground(), options.flushIntervalMs);
  timer.unref();

  function drop(reason: 'queue_full' | 'closed'): void {
    metrics.rejected.inc({ reason });
    dropsSinceLog++;
    // One line per interval, not one per event, so a stuck database cannot flood the log.
    const now = Date.now();
    if (now - lastDropLogMs >= dropLogEveryMs) {
      log.error({ dropped: dropsSinceLog, reason, maxQueue }, 'usage events dropped: the embedded ledger queue is not accepting them');
      dropsSinceLog = 0;
      lastDropLogMs = now;
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, batchSize);
      const endTimer = metrics.batchDuration.startTimer();
      let result;
      try {
        result = await writeUsageEvents(database.db, batch.map((q) => q.event));
      } catch (error) {
        metrics.errors.inc({ stage: 'postgres' });
        log.warn({ err: error, queued: queue.length }, 'could not write usage events; keeping them queued');
        throw error;
      }
      endTimer();
      queue.splice(0, batch.length);
      metrics.queueLength.set(queue.length);
      metrics.flushed.inc(result.inserted);
      metrics.duplicates.inc(batch.length - result.inserted - result.rejected.length);
      for (const { event, error } of result.rejected) {
        metrics.rejected.inc({ reason: 'refused' });
        log.error({ requestId: event.requestId, err: error }, 'usage event refused by the database; dropped');
      }
    }
  }

  // One drain at a time; a caller arriving mid-drain waits for it, then drains again, so
  // whatever it queued before calling is written when its promise resolves.
  async function flush(): Promise<void> {
    while (draining) await draining.catch(() => {});
    draining = drain();
    try {
      await draining;
    } finally {
      draining = undefined;
    }
  }

  // Background flushes (timer, full batch) skip while one runs: it picks their events up.
  const flushInBackground = () => {
    if (!draining) flush().catch(() => {});
  };

  return {
    push(event) {
      if (closed) return drop('closed');
      if (queue.length >= maxQueue) return drop('queue_full');
      queue.push({ event, queuedAtMs: Date.now() });
      metrics.queueLength.set(queue.length);
      if (queue.length >= batchSize) flushInBackground();
    },
    flush,
    async close() {
      closed = true;
      clearInterval(timer);
      try {
        await flush();
      } catch (error) {
        log.error({ err: error, lost: queue.length }, 'usage events could not be written before shutdown');
        throw error;
      }
    },
    lag: () => ({ streamLength: queue.length, oldestPendingMs: queue.length > 0 ? Date.now() - queue[0]!.queuedAtMs : 0 }),
  };
}
