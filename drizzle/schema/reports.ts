// Scheduled report digests (src/reports/): the schedules, and one row per schedule and period whose
// unique key makes each digest go out once across replicas.
import { sql } from 'drizzle-orm';
import { bigserial, boolean, check, date, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { orgs, teams } from './identity.js';

export const digestCadences = ['daily', 'weekly', 'monthly'] as const;
export type DigestCadence = (typeof digestCadences)[number];

export const reportSchedules = pgTable(
  'report_schedules',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id),
    // null: the whole org.
    teamId: text('team_id').references(() => teams.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    cadence: text('cadence').$type<DigestCadence>().notNull(),
    tz: text('tz').notNull().default('UTC'),
    channelIds: jsonb('channel_ids').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    top: integer('top').notNull().default(10),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('report_schedules_org_name_uq').on(t.orgId, t.name), check('report_schedules_cadence_ck', sql`${t.cadence} in ('daily', 'weekly', 'monthly')`)],
);

export const reportDigests = pgTable(
  'report_digests',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    scheduleId: text('schedule_id').notNull().references(() => reportSchedules.id, { onDelete: 'cascade' }),
    periodFrom: date('period_from').notNull(),
    periodTo: date('period_to').notNull(),
    // building (claimed by one replica) | queued (its notifications are in the outbox)
    state: text('state').notNull().default('building'),
    claimedBy: text('claimed_by').notNull(),
    claimedUntil: timestamp('claimed_until', { withTimezone: true }).notNull(),
    totals: jsonb('totals').$type<Record<string, unknown>>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    queuedAt: timestamp('queued_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('report_digests_period_uq').on(t.scheduleId, t.periodFrom), check('report_digests_state_ck', sql`${t.state} in ('building', 'queued')`)],
);
