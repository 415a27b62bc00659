// The usage ledger: one row per request (written once, by request id and time) in monthly
// partitions (migration 0016, src/usage/partitions.ts), and hourly and daily rollups per
// org/team/user/key/provider/model that reports read instead of scanning raw events.
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique } from 'drizzle-orm/pg-core';

const counter = (name: string) => bigint(name, { mode: 'number' }).notNull();

export const usageEvents = pgTable(
  'usage_events',
  {
    // The gateway's request id: with the time it was recorded (fixed per request, so every
    // redelivery carries it), the idempotency key that makes redelivered events harmless.
    requestId: text('request_id').notNull(),
    time: timestamp('time', { withTimezone: true, precision: 3 }).notNull(),
    // No foreign keys: the ledger keeps history for deleted keys and users, and FK checks would
    // cost every insert a lookup per column.
    orgId: text('org_id').notNull(),
    teamId: text('team_id'),
    userId: text('user_id').notNull(),
    keyId: text('key_id').notNull(),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    promptTokens: counter('prompt_tokens'),
    cachedTokens: counter('cached_tokens'),
    completionTokens: counter('completion_tokens'),
    reasoningTokens: counter('reasoning_tokens'),
    costMicros: counter('cost_micros'),
    status: integer('status').notNull(),
    errorCode: text('error_code'),
    stream: boolean('stream').notNull(),
    latencyMs: counter('latency_ms'),
    ttfbMs: bigint('ttfb_ms', { mode: 'number' }),
    estimated: boolean('estimated').notNull(),
    // An allowed pass-through call (no model, no tokens, no cost; model holds its endpoint family).
    // Budget rebuilds skip these rows: live counters never charged them.
    unmetered: boolean('unmetered').notNull().default(false),
    // The request stated no max_tokens, so metering reserved the catalog's output cap (migration 0019).
    maxTokensUnstated: boolean('max_tokens_unstated').notNull().default(false),
    sessionId: text('session_id'),
    tags: jsonb('tags').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
  },
  (t) => [
    // A partitioned table's unique keys must hold its partition key, `time`.
    primaryKey({ name: 'usage_events_pkey', columns: [t.requestId, t.time] }),
    // Reports and budget rebuilds scan one scope over a time range; (scope, time) keeps those
    // index range scans at any table size.
    index('usage_events_org_time_idx').on(t.orgId, t.time),
    index('usage_events_team_time_idx').on(t.teamId, t.time).where(sql`${t.teamId} is not null`),
    index('usage_events_user_time_idx').on(t.userId, t.time),
    index('usage_events_key_time_idx').on(t.keyId, t.time),
    // Rows arrive in roughly time order, so a BRIN index serves whole-ledger time ranges
    // (retention, global reports) for a few pages instead of another B-tree on every insert.
    index('usage_events_time_brin').using('brin', t.time),
  ],
);

// The columns every rollup table has besides its time bucket. A function, so each table gets its
// own column builders.
const rollupColumns = () => ({
  orgId: text('org_id').notNull(),
  teamId: text('team_id'),
  userId: text('user_id').notNull(),
  keyId: text('key_id').notNull(),
  provider: text('provider').notNull(),
  model: text('model').notNull(),
  requests: counter('requests'),
  // Requests answered with status >= 400 or with an error code.
  errorRequests: counter('error_requests'),
  // Requests whose counts came from Tollgate's tokenizer rather than the provider.
  estimatedRequests: counter('estimated_requests'),
  // Pass-through calls, which `requests` includes (rollups add up to the events table).
  unmeteredRequests: counter('unmetered_requests').default(0),
  promptTokens: counter('prompt_tokens'),
  cachedTokens: counter('cached_tokens'),
  completionTokens: counter('completion_tokens'),
  reasoningTokens: counter('reasoning_tokens'),
  costMicros: counter('cost_micros'),
  // Sum, not average, so rollups add up exactly; divide by requests to report the mean.
  latencyMsSum: counter('latency_ms_sum'),
  // Requests that stated no max_tokens (migration 0019).
  maxTokensUnstatedRequests: counter('max_tokens_unstated_requests').default(0),
  // The output tokens those requests used.
  maxTokensUnstatedOutputTokens: counter('max_tokens_unstated_output_tokens').default(0),
});

export const usageRollupsHourly = pgTable(
  'usage_rollups_hourly',
  {
    // Start of the UTC hour.
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    ...rollupColumns(),
  },
  (t) => [
    // The upsert target; leading with (org, hour) also serves org reports. NULLS NOT DISTINCT so
    // events without a team land in one row per hour rather than one row each.
    unique('usage_rollups_hourly_uq')
      .on(t.orgId, t.hour, t.teamId, t.userId, t.keyId, t.provider, t.model)
      .nullsNotDistinct(),
    index('usage_rollups_hourly_team_idx').on(t.teamId, t.hour).where(sql`${t.teamId} is not null`),
    index('usage_rollups_hourly_user_idx').on(t.userId, t.hour),
    index('usage_rollups_hourly_key_idx').on(t.keyId, t.hour),
  ],
);

// The same sums per UTC day (migration 0011): what month-long reads use for the days that lie
// wholly inside one of their buckets (src/analytics/query-plan.ts).
export const usageRollupsDaily = pgTable(
  'usage_rollups_daily',
  {
    // Start of the UTC day.
    day: timestamp('day', { withTimezone: true }).notNull(),
    ...rollupColumns(),
  },
  (t) => [
    unique('usage_rollups_daily_uq')
      .on(t.orgId, t.day, t.teamId, t.userId, t.keyId, t.provider, t.model)
      .nullsNotDistinct(),
    index('usage_rollups_daily_team_idx').on(t.teamId, t.day).where(sql`${t.teamId} is not null`),
    index('usage_rollups_daily_user_idx').on(t.userId, t.day),
    index('usage_rollups_daily_key_idx').on(t.keyId, t.day),
  ],
);

// The same sums per org, team, provider and model only (migration 0017), at 15 minutes, an hour and
// a UTC day: what org and team views read (src/usage/rollup-tables.ts says which answers what).
const teamRollupColumns = () => {
  const { userId: _user, keyId: _key, ...rest } = rollupColumns();
  return rest;
};

export const usageRollupsTeam15m = pgTable(
  'usage_rollups_team_15m',
  { quarter: timestamp('quarter', { withTimezone: true }).notNull(), ...teamRollupColumns() },
  (t) => [unique('usage_rollups_team_15m_uq').on(t.orgId, t.quarter, t.teamId, t.provider, t.model).nullsNotDistinct()],
);

export const usageRollupsTeamHourly = pgTable(
  'usage_rollups_team_hourly',
  { hour: timestamp('hour', { withTimezone: true }).notNull(), ...teamRollupColumns() },
  (t) => [unique('usage_rollups_team_hourly_uq').on(t.orgId, t.hour, t.teamId, t.provider, t.model).nullsNotDistinct()],
);

export const usageRollupsTeamDaily = pgTable(
  'usage_rollups_team_daily',
  { day: timestamp('day', { withTimezone: true }).notNull(), ...teamRollupColumns() },
  (t) => [unique('usage_rollups_team_daily_uq').on(t.orgId, t.day, t.teamId, t.provider, t.model).nullsNotDistinct()],
);

// The same sums per org, user and key only (migration 0021), at an hour and a UTC day: the
// analyses' per-user and per-key day series (src/analytics/inputs.ts).
const keyRollupColumns = () => {
  const { teamId: _team, provider: _provider, model: _model, ...rest } = rollupColumns();
  return rest;
};

export const usageRollupsKeyHourly = pgTable(
  'usage_rollups_key_hourly',
  { hour: timestamp('hour', { withTimezone: true }).notNull(), ...keyRollupColumns() },
  (t) => [
    unique('usage_rollups_key_hourly_uq').on(t.orgId, t.hour, t.userId, t.keyId),
    index('usage_rollups_key_hourly_user_idx').on(t.userId, t.hour),
    index('usage_rollups_key_hourly_key_idx').on(t.keyId, t.hour),
  ],
);

export const usageRollupsKeyDaily = pgTable(
  'usage_rollups_key_daily',
  { day: timestamp('day', { withTimezone: true }).notNull(), ...keyRollupColumns() },
  (t) => [
    unique('usage_rollups_key_daily_uq').on(t.orgId, t.day, t.userId, t.keyId),
    index('usage_rollups_key_daily_user_idx').on(t.userId, t.day),
    index('usage_rollups_key_daily_key_idx').on(t.keyId, t.day),
  ],
);
