// The notification outbox: rows are written in the transaction that decides to notify, and the
// sender claims, delivers and settles them. A claim pushes next_attempt_at past a lease under
// FOR UPDATE SKIP LOCKED, so one sender at a time holds a row without keeping a transaction (or,
// on PGlite, the only connection) open across a slow delivery; a sender that dies mid-delivery
// hands the row on when its lease ends, and the receiver dedupes that rare resend by webhook-id.
import { randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { notificationOutbox } from '../../drizzle/schema/index.js';
import type { Db } from '../db/database.js';
import type { DigestPayload } from '../reports/digest-payload.js';
import type { NotificationEvent, NotificationPayload } from './payload.js';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type OutboxRow = typeof notificationOutbox.$inferSelect;

export const newWebhookId = (): string => `msg_${randomBytes(16).toString('base64url')}`;

// Alert notifications, and scheduled report digests (event 'digest', no alert).
export async function enqueue(tx: Db | Tx, alertId: string | null, channelIds: readonly string[], event: NotificationEvent | 'digest', payload: NotificationPayload | DigestPayload, nowMs: number): Promise<void> {
  if (channelIds.length === 0) return;
  const at = new Date(nowMs);
  await tx.insert(notificationOutbox).values(
    channelIds.map((channelId) => ({ webhookId: newWebhookId(), alertId, channelId, event, payload: payload as unknown as Record<string, unknown>, nextAttemptAt: at, createdAt: at })),
  );
}

export async function claimDue(db: Db, limit: number, nowMs: number, leaseMs: number): Promise<OutboxRow[]> {
  const result = await db.execute(sql`
    update notification_outbox o set next_attempt_at = ${new Date(nowMs + leaseMs)}, attempts = o.attempts + 1
    from (select id from notification_outbox where state = 'pending' and next_attempt_at <= ${new Date(nowMs)}
          order by next_attempt_at limit ${limit} for update skip locked) due
    where o.id = due.id
    returning o.id`);
  const ids = (result as unknown as { rows: Array<{ id: string | number }> }).rows.map((r) => Number(r.id));
  if (ids.length === 0) return [];
  return db.select().from(notificationOutbox).where(sql`${notificationOutbox.id} in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`);
}

export type Settlement =
  | { readonly state: 'sent'; readonly status: number | null }
  | { readonly state: 'failed' | 'dropped'; readonly status: number | null; readonly error: string }
  | { readonly state: 'pending'; readonly status: number | null; readonly error: string; readonly nextAttemptMs: number };

// Settles the claim this sender holds; false when the lease ran out and another sender took the row.
export async function settle(db: Db, row: OutboxRow, outcome: Settlement, nowMs: number): Promise<boolean> {
  const updated = await db
    .update(notificationOutbox)
    .set({
      state: outcome.state,
      lastStatus: outcome.status,
      lastError: outcome.state === 'sent' ? null : outcome.error,
      ...(outcome.state === 'sent' ? { sentAt: new Date(nowMs) } : {}),
      ...(outcome.state === 'pending' ? { nextAttemptAt: new Date(outcome.nextAttemptMs) } : {}),
    })
    .where(and(eq(notificationOutbox.id, row.id), eq(notificationOutbox.attempts, row.attempts), eq(notificationOutbox.state, 'pending')))
    .returning({ id: notificationOutbox.id });
  return updated.length > 0;
}

// Finished rows one prune pass deletes; the rest wait for the next pass.
export const pruneBatch = 1_000;

// Deletes up to `limit` finished rows queued before the cutoff.
export async function pruneFinished(db: Db, beforeMs: number, limit: number): Promise<void> {
  await db.execute(sql`
    delete from notification_outbox where id in (
      select id from notification_outbox where state <> 'pending' and created_at < ${new Date(beforeMs)} limit ${limit})`);
}

export async function dropPending(db: Db, channelId: string, reason: string): Promise<void> {
  await db
    .update(notificationOutbox)
    .set({ state: 'dropped', lastError: reason })
    .where(and(eq(notificationOutbox.channelId, channelId), eq(notificationOutbox.state, 'pending')));
}
