// Follows the key_changes table (migration 0009, written by triggers) so a replica learns of every
// key change, including ones whose pub/sub message it missed, without reloading the key table.
// Ids come from a sequence and transactions commit in any order, so a read first takes the
// writers' advisory lock exclusively for an instant (trying, never queueing, so writers are never
// made to wait behind a reader): holding it means no transaction writing changes is in flight, so
// every id allocated by then belongs to a finished transaction. Reads stop at that id, so one
// committing late is never skipped; a long transaction that changes keys (a bulk import) holds the
// feed back until it ends, which pub/sub does not notice.
import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { rowsOf } from './principal-loader.js';

// Also in migration 0009's trigger functions, which take it shared.
const writersLock = 7361726931;

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

const lockTries = 5;
const lockRetryMs = 20;

// The highest change id whose transaction has finished (committed or rolled back), or undefined
// while writers stay in flight through every try. One statement (the lock lasts as long as it),
// so no pooled connection is held across round trips; CASE reads the sequence only once the lock
// is held.
async function finishedUpTo(db: Db): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    const [row] = rowsOf<{ id: string | null }>(
      await db.execute(sql`
        with barrier as (select pg_try_advisory_xact_lock(${writersLock}::bigint) as held)
        select case when held then (select (case when is_called then last_value else 0 end)::text from key_changes_id_seq) end as id from barrier`),
    );
    if (row?.id != null || attempt === lockTries) return row?.id ?? undefined;
    await new Promise((resolve) => setTimeout(resolve, lockRetryMs));
  }
}

// Starts past the changes already finished, so nothing that commits after the caller's next query
// (the filter build) is missed and older changes are in what that query reads; while writers are
// in flight, at the oldest change kept instead (reading changes twice is harmless).
export async function startKeyChangeFeed(options: KeyChangeFeedOptions): Promise<KeyChangeFeed> {
  const { db, pollMs, retentionMs, onChanges, onError } = options;
  let afterId = (await finishedUpTo(db)) ?? '0';
  let lastReadMs = Date.now();
  let lastPruneMs = 0;

  async function readAll(): Promise<void> {
    if (Date.now() - lastReadMs > retentionMs) onChanges([everyKey]);
    const upTo = await finishedUpTo(db);
    // Writers in flight: the next poll (or message) tries again.
    if (upTo === undefined) return;
    while (BigInt(afterId) < BigInt(upTo)) {
      const rows = rowsOf<{ id: string; key_hash: string | null; user_id: string | null }>(
        await db.execute(sql`
          select id::text as id, key_hash, user_id from key_changes
          where id > ${afterId}::bigint and id <= ${upTo}::bigint order by id limit ${pageSize}`),
      );
      if (rows.length > 0) onChanges(rows.map((r) => ({ keyHash: r.key_hash, userId: r.user_id })));
      // Ids of rolled-back transactions never appear: past the last row, the page is done.
      afterId = rows.length < pageSize ? upTo : rows.at(-1)!.id;
    }
    lastReadMs = Date.now();
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
