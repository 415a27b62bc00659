// Alerts and their notifications (src/alerts/): the alert records with their history, the
// channels notifications go to, the routes that pick channels, and the outbox the sender drains.
import { sql } from 'drizzle-orm';
import { bigserial, boolean, check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { orgs } from './identity.js';

// One alert per fingerprint while it is active: raising an active fingerprint again only refreshes
// last_seen_at, so replicas racing to raise the same condition store (and notify) it once.
export const alerts = pgTable(
  'alerts',
  {
    id: text('id').primaryKey(),
    fingerprint: text('fingerprint').notNull(),
    // budget | delivery | health | user ...: who raised it (src/alerts/source.ts).
    source: text('source').notNull(),
    // What happened, stable per rule: budget.warning, channel.failing, ...
    name: text('name').notNull(),
    severity: text('severity').notNull(),
    state: text('state').notNull().default('firing'),
    summary: text('summary').notNull(),
    // Scope: null org for system-wide alerts; team and user when the condition belongs to them.
    orgId: text('org_id'),
    teamId: text('team_id'),
    userId: text('user_id'),
    // The budget counter (bucket and window) a budget alert is about.
    bucketKey: text('bucket_key'),
    // Alerts of one group mute those of lower rank (an exceeded budget mutes its warning).
    inhibitGroup: text('inhibit_group'),
    inhibitRank: integer('inhibit_rank').notNull().default(0),
    inhibited: boolean('inhibited').notNull().default(false),
    figures: jsonb('figures').$type<Record<string, unknown>>().notNull().default({}),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true, precision: 3 }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, precision: 3 }).notNull(),
    // Resolved by the sweep at this instant (a budget window's end); null: when its source clears it.
    endsAt: timestamp('ends_at', { withTimezone: true, precision: 3 }),
    lastNotifiedAt: timestamp('last_notified_at', { withTimezone: true, precision: 3 }),
    // The route step reached (0: first routes; escalation moves it on while nobody acknowledges).
    escalationStep: integer('escalation_step').notNull().default(0),
    escalatedAt: timestamp('escalated_at', { withTimezone: true, precision: 3 }),
    ackedBy: text('acked_by'),
    ackedAt: timestamp('acked_at', { withTimezone: true, precision: 3 }),
    resolvedBy: text('resolved_by'),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    uniqueIndex('alerts_active_fingerprint_uq').on(t.fingerprint).where(sql`${t.state} <> 'resolved'`),
    index('alerts_state_idx').on(t.state, t.lastSeenAt),
    index('alerts_org_idx').on(t.orgId, t.firstSeenAt),
    index('alerts_group_idx').on(t.inhibitGroup).where(sql`${t.state} <> 'resolved'`),
    check('alerts_severity_ck', sql`${t.severity} in ('low', 'medium', 'high', 'critical')`),
    check('alerts_state_ck', sql`${t.state} in ('firing', 'acknowledged', 'resolved')`),
  ],
);

// What happened to each alert, in order: fired, notified again, escalated, inhibited, acknowledged, resolved.
export const alertEvents = pgTable(
  'alert_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    alertId: text('alert_id').notNull().references(() => alerts.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
    kind: text('kind').notNull(),
    actor: text('actor'),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('alert_events_alert_idx').on(t.alertId, t.id)],
);

export interface ChannelSecret {
  // whsec_<base64>: signs webhook deliveries; several are valid while a rotation runs.
  secret: string;
  // When a rotated-out secret stops signing; null for the current one.
  expiresAt: string | null;
}

export const alertChannels = pgTable(
  'alert_channels',
  {
    id: text('id').primaryKey(),
    // null: a gateway-wide channel (admins only).
    orgId: text('org_id').references(() => orgs.id),
    name: text('name').notNull(),
    // console | webhook | slack | email
    type: text('type').notNull(),
    // Shown to readers: webhook URL, email recipients.
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
    // Never shown after creation: webhook signing secrets, the Slack incoming-webhook URL.
    secrets: jsonb('secrets').$type<{ signing?: ChannelSecret[]; url?: string }>().notNull().default({}),
    enabled: boolean('enabled').notNull().default(true),
    disabledReason: text('disabled_reason'),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('alert_channels_type_ck', sql`${t.type} in ('console', 'webhook', 'slack', 'email')`)],
);

// Sends alerts matching (org, team, source, minimum severity) to one channel at one escalation step.
export const alertRoutes = pgTable(
  'alert_routes',
  {
    id: text('id').primaryKey(),
    // null matches every org (admins only); team_id null matches every team of the org.
    orgId: text('org_id').references(() => orgs.id),
    teamId: text('team_id'),
    // null matches every source.
    source: text('source'),
    minSeverity: text('min_severity').notNull().default('low'),
    channelId: text('channel_id').notNull().references(() => alertChannels.id, { onDelete: 'cascade' }),
    // 0: notified when the alert fires; n: when it is still unacknowledged after n escalation periods.
    step: integer('step').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('alert_routes_org_idx').on(t.orgId),
    check('alert_routes_severity_ck', sql`${t.minSeverity} in ('low', 'medium', 'high', 'critical')`),
    check('alert_routes_step_ck', sql`${t.step} >= 0`),
  ],
);

// Written in the transaction that decides to notify; the sender delivers each row, retrying with
// the same webhook_id, until it is sent, dropped (410 or the channel disabled) or too old.
export const notificationOutbox = pgTable(
  'notification_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // The idempotency key receivers dedupe on (Standard Webhooks webhook-id, email Message-ID).
    webhookId: text('webhook_id').notNull(),
    alertId: text('alert_id').references(() => alerts.id, { onDelete: 'cascade' }),
    channelId: text('channel_id').notNull().references(() => alertChannels.id, { onDelete: 'cascade' }),
    // firing | resolved | repeat | escalated
    event: text('event').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    // pending | sent | failed | dropped
    state: text('state').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    // When a pending row is next due; while one sender holds it, the end of its lease.
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, precision: 3 }).notNull(),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
    sentAt: timestamp('sent_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    uniqueIndex('notification_outbox_webhook_id_uq').on(t.webhookId),
    index('notification_outbox_due_idx').on(t.nextAttemptAt).where(sql`${t.state} = 'pending'`),
    index('notification_outbox_alert_idx').on(t.alertId),
    check('notification_outbox_state_ck', sql`${t.state} in ('pending', 'sent', 'failed', 'dropped')`),
  ],
);
