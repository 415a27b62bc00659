// Monthly partitions of usage_events (migration 0016): which UTC months must exist and which
// partitions retention may drop, as pure functions of a clock; and the statements that create
// and drop them. A partition is named usage_events_YYYY_MM and holds [first of month, first of
// next month) in UTC; the SQL function usage_events_create_partition makes one.
import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';

const dayMs = 86_400_000;
const partitionName = /^usage_events_(\d{4})_(\d{2})$/;

// '2026-11' for an instant (UTC).
export const monthOf = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

const monthStartMs = (month: string): number => Date.parse(`${month}-01T00:00:00Z`);

export function addMonths(month: string, n: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const index = y * 12 + (m - 1) + n;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

// This month and the `ahead` months after it.
export const monthsToCreate = (nowMs: number, ahead: number): string[] => Array.from({ length: ahead + 1 }, (_, i) => addMonths(monthOf(nowMs), i));

// The partitions whose every row is older than nowMs - retentionDays (the month ended by then).
export function partitionsToDrop(names: readonly string[], nowMs: number, retentionDays: number): string[] {
  const cutoffMs = nowMs - retentionDays * dayMs;
  return names.filter((name) => {
    const match = partitionName.exec(name);
    return match !== null && monthStartMs(addMonths(`${match[1]}-${match[2]}`, 1)) <= cutoffMs;
  });
}

// SQLSTATE 23514 with this text is an event whose month has no partition (not a bad row).
export function isMissingPartition(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (code === '23514' && typeof message === 'string' && message.includes('no partition of relation')) return true;
  }
  return false;
}

const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

export async function listPartitions(db: Db): Promise<string[]> {
  const rows = rowsOf<{ name: string }>(
    await db.execute(sql`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'usage_events'::regclass order by 1`),
  );
  return rows.map((r) => r.name);
}

// Idempotent. Two replicas creating the same month at once can collide in the catalog (a unique
// violation or duplicate table); the loser finds the partition there on its second try.
export async function createPartitions(db: Db, months: readonly string[]): Promise<void> {
  for (const month of new Set(months)) {
    const create = () => db.execute(sql`select usage_events_create_partition(${`${month}-01`}::date)`);
    await create().catch(create);
  }
}

export async function dropPartitions(db: Db, names: readonly string[]): Promise<void> {
  // Names come from the catalog and match partitionName; quoting keeps them identifiers regardless.
  for (const name of names) await db.execute(sql.raw(`drop table if exists "${name.replaceAll('"', '""')}"`));
}
