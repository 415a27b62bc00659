// The ledger's upkeep, run at start and every usage.maintenanceIntervalMs on each replica (every
// step is idempotent, so replicas racing each other do no harm): make this month's partition and
// the next ones, drop partitions past usage.retentionDays, and delete rollup rows past
// usage.rollupRetentionDays. The clock is injected so rollover and retention are testable.
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import type { UsageConfig } from './config.js';
import { createPartitions, dropPartitions, listPartitions, monthsToCreate, partitionsToDrop } from './partitions.js';
import { rollupTables } from './rollup-tables.js';

const dayMs = 86_400_000;

export type MaintenanceOptions = Pick<UsageConfig, 'retentionDays' | 'rollupRetentionDays' | 'partitionsAheadMonths'>;

export interface MaintenanceResult {
  created: string[];
  dropped: string[];
  rollupRowsDeleted: number;
}

export async function maintainUsageLedger(db: Db, options: MaintenanceOptions, nowMs: number): Promise<MaintenanceResult> {
  const before = new Set(await listPartitions(db));
  await createPartitions(db, monthsToCreate(nowMs, options.partitionsAheadMonths));
  const after = await listPartitions(db);
  const dropped = options.retentionDays === undefined ? [] : partitionsToDrop(after, nowMs, options.retentionDays);
  await dropPartitions(db, dropped);
  let rollupRowsDeleted = 0;
  if (options.rollupRetentionDays !== undefined) {
    const cutoff = new Date(nowMs - options.rollupRetentionDays * dayMs).toISOString();
    for (const { table, bucket } of rollupTables) {
      const result = await db.execute(sql`delete from ${sql.identifier(table)} where ${sql.identifier(bucket)} < ${cutoff}::timestamptz`);
      rollupRowsDeleted += Number((result as { rowCount?: number | null; affectedRows?: number }).rowCount ?? (result as { affectedRows?: number }).affectedRows ?? 0);
    }
  }
  return { created: after.filter((name) => !before.has(name)), dropped, rollupRowsDeleted };
}

export interface UsageMaintenance {
  stop(): Promise<void>;
}

export function startUsageMaintenance(deps: { db: Db; config: UsageConfig; logger: Logger; now?: () => number }): UsageMaintenance {
  const now = deps.now ?? Date.now;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = maintainUsageLedger(deps.db, deps.config, now()).then(
      (result) => {
        if (result.created.length + result.dropped.length + result.rollupRowsDeleted > 0) deps.logger.info(result, 'usage ledger maintenance');
      },
      (err: unknown) => deps.logger.warn({ err }, 'usage ledger maintenance failed; retried next interval'),
    );
  };
  tick();
  const timer = setInterval(tick, deps.config.maintenanceIntervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
