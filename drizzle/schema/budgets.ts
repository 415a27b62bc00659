// Budget rules and rate limits as the control plane stores them; each row has the shape of one
// entry of the config's budget.budgets / budget.limits lists (src/budget/rules.ts), plus its org.
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { orgs } from './identity.js';

export const budgets = pgTable(
  'budgets',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id),
    // key | user | team | org; scope_id '*' applies the rule to each member of the scope.
    scope: text('scope').notNull(),
    scopeId: text('scope_id').notNull(),
    // tokens | costMicros | requests
    metric: text('metric').notNull(),
    // minute | hour | day | month | total | session
    window: text('window').notNull(),
    // Tokens, integer micro-USD or requests, per the metric.
    limit: bigint('limit', { mode: 'number' }).notNull(),
    warnPct: integer('warn_pct').notNull().default(80),
    criticalPct: integer('critical_pct').notNull().default(95),
    timezone: text('timezone').notNull().default('UTC'),
    // Null inherits the gateway-wide budget.clamp setting.
    clamp: boolean('clamp'),
    // Session window only: refuse requests without x-session-id (migration 0007).
    requireSession: boolean('require_session').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('budgets_scope_uq').on(t.orgId, t.scope, t.scopeId, t.metric, t.window),
    check('budgets_scope_ck', sql`${t.scope} in ('key', 'user', 'team', 'org')`),
    check('budgets_metric_ck', sql`${t.metric} in ('tokens', 'costMicros', 'requests')`),
    check('budgets_window_ck', sql`${t.window} in ('minute', 'hour', 'day', 'month', 'total', 'session')`),
    check('budgets_session_scope_ck', sql`${t.window} <> 'session' or ${t.scope} in ('key', 'user')`),
    check('budgets_require_session_ck', sql`not ${t.requireSession} or ${t.window} = 'session'`),
    check('budgets_limit_ck', sql`${t.limit} >= 0`),
    check('budgets_pct_ck', sql`${t.warnPct} between 1 and 100 and ${t.criticalPct} between 1 and 100 and ${t.warnPct} <= ${t.criticalPct}`),
  ],
);

export const rateLimits = pgTable(
  'rate_limits',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id),
    // key | user | team | org; scope_id '*' applies to each key (user, team) of the org.
    scope: text('scope').notNull(),
    scopeId: text('scope_id').notNull(),
    rpm: integer('rpm'),
    tpm: integer('tpm'),
    concurrency: integer('concurrency'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('rate_limits_scope_uq').on(t.orgId, t.scope, t.scopeId),
    check('rate_limits_scope_ck', sql`${t.scope} in ('key', 'user', 'team', 'org')`),
    check('rate_limits_positive_ck', sql`coalesce(${t.rpm}, 1) > 0 and coalesce(${t.tpm}, 1) > 0 and coalesce(${t.concurrency}, 1) > 0`),
  ],
);
