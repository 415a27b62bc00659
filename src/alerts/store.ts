// The alert lifecycle on Postgres (PGlite embedded): raise and clear by fingerprint, acknowledge,
// resolve, and the sweep (window ends, repeats, escalation). Every transition is one conditional
// UPDATE (or an INSERT … ON CONFLICT DO NOTHING) that enqueues its notifications in the same
// transaction, so when replicas race only the one whose statement changed the row notifies.
import { and, desc, eq, inArray, lt, ne, sql, type SQL } from 'drizzle-orm';
import { alertEvents, alerts } from '../../drizzle/schema/index.js';
import { newId } from '../auth/keys.js';
import type { Visibility } from '../control/visibility.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { AlertsConfig, Severity } from './config.js';
import { enqueue, pruneBatch, pruneFinished } from './outbox.js';
import { alertPayload, type AlertRow, type NotificationEvent } from './payload.js';
import { channelsFor } from './routing.js';
import type { AlertInput, AlertSink, RaiseResult } from './source.js';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

// Rows one sweep pass takes per kind of work; the rest wait for the next pass.
const sweepBatch = 100;

export interface AlertStore extends AlertSink {
  acknowledge(id: string, actor: string, nowMs?: number): Promise<AlertRow>;
  resolve(id: string, actor: string, nowMs?: number): Promise<AlertRow>;
  // Window ends, repeats, escalations and old outbox rows due at nowMs; returns how many alerts it touched.
  sweep(nowMs?: number): Promise<number>;
}

export interface AlertStoreOptions {
  readonly db: Db;
  readonly config: Pick<AlertsConfig, 'repeatIntervalMs' | 'escalateAfterMs' | 'outboxRetentionMs'>;
  // Told of every alert stored or resolved (the log line, metrics).
  readonly onChange?: (alert: AlertRow, change: 'fired' | 'resolved') => void;
  readonly clock?: () => number;
}

const record = (tx: Tx, alertId: string, kind: string, nowMs: number, actor: string | null = null, detail: Record<string, unknown> = {}) =>
  tx.insert(alertEvents).values({ alertId, at: new Date(nowMs), kind, actor, detail });

// Sends the alert to the channels of steps from..to and notes when it was last notified.
async function notify(tx: Tx, alert: AlertRow, event: NotificationEvent, steps: { from: number; to: number }, nowMs: number): Promise<number> {
  const channels = await channelsFor(tx, alert, steps);
  await enqueue(tx, alert.id, channels, event, alertPayload(alert, event, nowMs), nowMs);
  return channels.length;
}

export function createAlertStore(options: AlertStoreOptions): AlertStore {
  const { db, config } = options;
  const clock = options.clock ?? Date.now;
  const changed = options.onChange ?? (() => {});

  async function raise(input: AlertInput, nowMs = clock()): Promise<RaiseResult> {
    const now = new Date(nowMs);
    const outcome = await db.transaction(async (tx) => {
      // Alerts of one group are raised one at a time, so "is a higher one active?" has one answer.
      if (input.inhibitGroup) await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`alerts:${input.inhibitGroup}`}))`);
      const [inserted] = await tx
        .insert(alerts)
        .values({
          id: newId('alt'),
          fingerprint: input.fingerprint,
          source: input.source,
          name: input.name,
          severity: input.severity,
          summary: input.summary,
          orgId: input.orgId ?? null,
          teamId: input.teamId ?? null,
          userId: input.userId ?? null,
          bucketKey: input.bucketKey ?? null,
          inhibitGroup: input.inhibitGroup ?? null,
          inhibitRank: input.inhibitRank ?? 0,
          figures: { ...input.figures },
          firstSeenAt: now,
          lastSeenAt: now,
          endsAt: input.endsAtMs == null ? null : new Date(input.endsAtMs),
        })
        .onConflictDoNothing({ target: alerts.fingerprint, where: sql`state <> 'resolved'` })
        .returning();
      if (!inserted) {
        const [active] = await tx
          .update(alerts)
          .set({ lastSeenAt: now, ...(input.figures ? { figures: { ...input.figures } } : {}) })
          .where(and(eq(alerts.fingerprint, input.fingerprint), ne(alerts.state, 'resolved')))
          .returning({ id: alerts.id });
        return { alertId: active?.id ?? '', created: false, alert: undefined };
      }
      let alert: AlertRow = inserted;
      await record(tx, alert.id, 'fired', nowMs, null, { severity: alert.severity, figures: alert.figures });
      const muted = alert.inhibitGroup ? await inhibit(tx, alert, nowMs) : false;
      if (!muted) {
        const sent = await notify(tx, alert, 'firing', { from: 0, to: 0 }, nowMs);
        alert = { ...alert, lastNotifiedAt: now };
        await tx.update(alerts).set({ lastNotifiedAt: now }).where(eq(alerts.id, alert.id));
        if (sent > 0) await record(tx, alert.id, 'notified', nowMs, null, { event: 'firing', channels: sent });
      }
      return { alertId: alert.id, created: true, alert };
    });
    if (outcome.alert) changed(outcome.alert, 'fired');
    return { alertId: outcome.alertId, created: outcome.created };
  }

  // Within its group, the new alert is muted by an active one of higher rank, or mutes those below it.
  async function inhibit(tx: Tx, alert: AlertRow, nowMs: number): Promise<boolean> {
    const active = and(eq(alerts.inhibitGroup, alert.inhibitGroup!), ne(alerts.state, 'resolved'), ne(alerts.id, alert.id));
    const [higher] = await tx.select({ id: alerts.id }).from(alerts).where(and(active, sql`${alerts.inhibitRank} > ${alert.inhibitRank}`)).limit(1);
    if (higher) {
      await tx.update(alerts).set({ inhibited: true }).where(eq(alerts.id, alert.id));
      await record(tx, alert.id, 'inhibited', nowMs, null, { by: higher.id });
      return true;
    }
    const lower = await tx
      .update(alerts)
      .set({ inhibited: true })
      .where(and(active, lt(alerts.inhibitRank, alert.inhibitRank), eq(alerts.inhibited, false)))
      .returning({ id: alerts.id });
    for (const { id } of lower) await record(tx, id, 'inhibited', nowMs, null, { by: alert.id });
    return false;
  }

  // Resolves the rows `where` picks that are still active, with resolved notices for those that
  // were notified and are not muted.
  async function resolveWhere(where: SQL, by: string, nowMs: number): Promise<AlertRow[]> {
    const resolved = await db.transaction(async (tx) => {
      const picked = tx.select({ id: alerts.id }).from(alerts).where(and(where, ne(alerts.state, 'resolved'))).limit(sweepBatch).for('update', { skipLocked: true });
      const rows = await tx
        .update(alerts)
        .set({ state: 'resolved', resolvedAt: new Date(nowMs), resolvedBy: by })
        .where(and(inArray(alerts.id, picked), ne(alerts.state, 'resolved')))
        .returning();
      for (const alert of rows) {
        await record(tx, alert.id, 'resolved', nowMs, by);
        if (alert.lastNotifiedAt && !alert.inhibited) await notify(tx, alert, 'resolved', { from: 0, to: alert.escalationStep }, nowMs);
      }
      return rows;
    });
    for (const alert of resolved) changed(alert, 'resolved');
    return resolved;
  }

  async function repeatDue(nowMs: number): Promise<number> {
    return db.transaction(async (tx) => {
      const picked = tx
        .select({ id: alerts.id })
        .from(alerts)
        .where(and(eq(alerts.state, 'firing'), eq(alerts.inhibited, false), lt(alerts.lastNotifiedAt, new Date(nowMs - config.repeatIntervalMs))))
        .limit(sweepBatch)
        .for('update', { skipLocked: true });
      const rows = await tx
        .update(alerts)
        .set({ lastNotifiedAt: new Date(nowMs) })
        .where(and(inArray(alerts.id, picked), eq(alerts.state, 'firing'), lt(alerts.lastNotifiedAt, new Date(nowMs - config.repeatIntervalMs))))
        .returning();
      for (const alert of rows) {
        const sent = await notify(tx, alert, 'repeat', { from: 0, to: alert.escalationStep }, nowMs);
        await record(tx, alert.id, 'repeated', nowMs, null, { channels: sent });
      }
      return rows.length;
    });
  }

  // Unacknowledged past escalateAfterMs since firing (or the last escalation), and a route of the
  // next step exists: the alert moves on and that step's channels hear of it.
  async function escalateDue(nowMs: number): Promise<number> {
    return db.transaction(async (tx) => {
      const due = sql`${alerts.state} = 'firing' and not ${alerts.inhibited}
        and coalesce(${alerts.escalatedAt}, ${alerts.firstSeenAt}) < ${new Date(nowMs - config.escalateAfterMs)}
        and exists (select 1 from alert_routes r where r.step = ${alerts.escalationStep} + 1 and (r.org_id is null or r.org_id = ${alerts.orgId}))`;
      const picked = tx.select({ id: alerts.id }).from(alerts).where(due).limit(sweepBatch).for('update', { skipLocked: true });
      const rows = await tx
        .update(alerts)
        .set({ escalationStep: sql`${alerts.escalationStep} + 1`, escalatedAt: new Date(nowMs), lastNotifiedAt: new Date(nowMs) })
        .where(and(inArray(alerts.id, picked), due))
        .returning();
      for (const alert of rows) {
        const sent = await notify(tx, alert, 'escalated', { from: alert.escalationStep, to: alert.escalationStep }, nowMs);
        await record(tx, alert.id, 'escalated', nowMs, null, { step: alert.escalationStep, channels: sent });
      }
      return rows.length;
    });
  }

  async function transition(id: string, nowMs: number, apply: (tx: Tx) => Promise<AlertRow | undefined>): Promise<AlertRow> {
    const row = await db.transaction(apply);
    if (row) return row;
    const [existing] = await db.select({ state: alerts.state }).from(alerts).where(eq(alerts.id, id));
    if (!existing) throw new GatewayError('not_found', `No alert ${id}.`);
    throw new GatewayError('conflict', `Alert ${id} is already ${existing.state}.`);
  }

  return {
    raise,
    async clear(fingerprint, nowMs = clock()) {
      return (await resolveWhere(eq(alerts.fingerprint, fingerprint), 'system:cleared', nowMs)).length > 0;
    },
    acknowledge(id, actor, nowMs = clock()) {
      return transition(id, nowMs, async (tx) => {
        const [row] = await tx
          .update(alerts)
          .set({ state: 'acknowledged', ackedBy: actor, ackedAt: new Date(nowMs) })
          .where(and(eq(alerts.id, id), eq(alerts.state, 'firing')))
          .returning();
        if (row) await record(tx, id, 'acknowledged', nowMs, actor);
        return row;
      });
    },
    async resolve(id, actor, nowMs = clock()) {
      const [row] = await resolveWhere(eq(alerts.id, id), actor, nowMs);
      return row ?? transition(id, nowMs, async () => undefined);
    },
    async sweep(nowMs = clock()) {
      const ended = await resolveWhere(sql`${alerts.endsAt} <= ${new Date(nowMs)}`, 'system:window_end', nowMs);
      const touched = ended.length + (await repeatDue(nowMs)) + (await escalateDue(nowMs));
      await pruneFinished(db, nowMs - config.outboxRetentionMs, pruneBatch);
      return touched;
    },
  };
}

export interface AlertFilters {
  readonly active?: boolean | undefined;
  readonly state?: 'firing' | 'acknowledged' | 'resolved' | undefined;
  readonly severity?: Severity | undefined;
  readonly source?: string | undefined;
  readonly limit: number;
}

export async function listAlerts(db: Db, visibility: Visibility, filters: AlertFilters): Promise<AlertRow[]> {
  const where = [
    visibility.orgId ? eq(alerts.orgId, visibility.orgId) : undefined,
    visibility.teamIds ? (visibility.teamIds.length ? inArray(alerts.teamId, [...visibility.teamIds]) : sql`false`) : undefined,
    visibility.userId ? eq(alerts.userId, visibility.userId) : undefined,
    filters.active ? ne(alerts.state, 'resolved') : undefined,
    filters.state ? eq(alerts.state, filters.state) : undefined,
    filters.severity ? eq(alerts.severity, filters.severity) : undefined,
    filters.source ? eq(alerts.source, filters.source) : undefined,
  ].filter((w): w is SQL => w !== undefined);
  return db.select().from(alerts).where(and(...where)).orderBy(desc(alerts.firstSeenAt), desc(alerts.id)).limit(filters.limit);
}

export async function getAlert(db: Db, id: string): Promise<AlertRow> {
  const [row] = await db.select().from(alerts).where(eq(alerts.id, id));
  if (!row) throw new GatewayError('not_found', `No alert ${id}.`);
  return row;
}

export async function alertHistory(db: Db, id: string) {
  return db.select().from(alertEvents).where(eq(alertEvents.alertId, id)).orderBy(alertEvents.id);
}
