// Follows the key_changes table (migration 0009, written by triggers) so a replica learns of every
// key change, including ones whose pub/sub message it missed, without reloading the key table.
// Rows are read in (tx, id) order and only from transactions older than every transaction still
// running (pg_snapshot_xmin), so one that commits after a later one is never skipped; the price is
// that a long-running writer anywhere on the server holds the feed back until it ends.
import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { rowsOf } from './principal-loader.js';

// One key (keyHash), every key of a user (userId), or every key (both null: team chains moved).
export interface KeyChange {
  readonly keyHash: string | null;
  readonly userId: string | null;
}

export const everyKey: KeyChange = Object.freeze({ keyHash: null, userId: null });

export interface KeyChangeFeedOptions {
  db: Db;
  pollMs: number;
  // Rows older than this are deleted; a replica that could not read the feed for that long
  // treats every key as changed, since it may have missed rows.
  retentionMs: number;
  onChanges(changes: readonly KeyChange[]): void;
  onError(err: unknown): void;
}

export interface KeyChangeFeed {
  // Reads what is new; a call while a read runs gets one more read after it, so a change
  // committed during the running read is not missed.
  poll(): Promise<void>;
  close(): void;
}

const pageSize = 1_000;

// Starts at the oldest transaction still running, so nothing that commits after the caller's
// next query (the filter build) is missed; older changes are already in what that query reads.
export async function startKeyChangeFeed(options: KeyChangeFeedOptions): Promise<KeyChangeFeed> {
  const { db, pollMs, retentionMs, onChanges, onError } = options;
  const [start] = rowsOf<{ xmin: string }>(await db.execute(sql`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`));
  let afterTx = start!.xmin;
  let afterId = '-1';
  let lastReadMs = Date.now();
  let lastPruneMs = 0;

  async function readAll(): Promise<void> {
    if (Date.now() - lastReadMs > retentionMs) onChanges([everyKey]);
    for (;;) {
      const rows = rowsOf<{ tx: string; id: string; key_hash: string | null; user_id: string | null }>(
        await db.execute(sql`
          select tx::text as tx, id::text as id, key_hash, user_id from key_changes
          where (tx, id) > (${afterTx}::xid8, ${afterId}::bigint) and tx < pg_snapshot_xmin(pg_current_snapshot())
          order by tx, id limit ${pageSize}`),
      );
      lastReadMs = Date.now();
      if (rows.length > 0) {
        onChanges(rows.map((r) => ({ keyHash: r.key_hash, userId: r.user_id })));
        const last = rows.at(-1)!;
        afterTx = last.tx;
        afterId = last.id;
      }
      if (rows.length < pageSize) break;
    }
    // Every replica prunes; the deletes are idempotent and rare.
    if (Date.now() - lastPruneMs > retentionMs / 10) {
      lastPruneMs = Date.now();
      await db.execute(sql`delete from key_changes where changed_at < now() - make_interval(secs => ${retentionMs / 1000})`);
    }
  }

  let running: Promise<void> | undefined;
  let again: Promise<void> | undefined;
  function poll(): Promise<void> {
    if (!running) {
      running = readAll().finally(() => (running = undefined));
      return running;
    }
    again ??= running.catch(() => {}).then(() => {
      again = undefined;
      return poll();
    });
    return again;
  }

  const timer = setInterval(() => void poll().catch(onError), pollMs);
  timer.unref();
  return { poll, close: () => clearInterval(timer) };
}
