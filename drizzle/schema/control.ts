// Control-plane tables beyond identity and budgets: admin credentials, the audit log, budget
// templates and quota increase requests.
import { sql } from 'drizzle-orm';
import { bigint, bigserial, check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { budgets } from './budgets.js';
import { orgs, users } from './identity.js';

// Credentials for the admin API. Separate from api_keys: an admin key carries a role and never
// reaches the data plane's principal cache.
export const adminKeys = pgTable(
  'admin_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    // SHA-256 of the full key, hex; the plaintext is shown once.
    hash: text('hash').notNull(),
    prefix: text('prefix').notNull(),
    role: text('role').notNull(),
    // Managers and developers act for a user: their reach (own teams, own keys) follows from it.
    userId: text('user_id').references(() => users.id),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('admin_keys_hash_uq').on(t.hash),
    check('admin_keys_role_ck', sql`${t.role} in ('admin', 'manager', 'analyst', 'developer', 'viewer')`),
  ],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    requestId: text('request_id').notNull(),
    // admin_key | jwt | cli
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id').notNull(),
    actorRole: text('actor_role').notNull(),
    // resource.verb, e.g. user.deactivate, key.rotate, budget.upsert
    action: text('action').notNull(),
    resourceType: text('resource_type').notNull(),
    resourceId: text('resource_id').notNull(),
    // No foreign key: entries outlive what they describe.
    orgId: text('org_id'),
    before: jsonb('before').$type<Record<string, unknown> | null>(),
    after: jsonb('after').$type<Record<string, unknown> | null>(),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at),
    index('audit_log_resource_idx').on(t.resourceType, t.resourceId),
    index('audit_log_actor_idx').on(t.actorId, t.at),
  ],
);

export interface TemplateRule {
  metric: 'tokens' | 'costMicros' | 'requests';
  window: 'minute' | 'hour' | 'day' | 'month' | 'total';
  limit: number;
}

// Custom templates; the built-in ones (basic_user, power_user, enterprise) live in code.
export const budgetTemplates = pgTable('budget_templates', {
  name: text('name').primaryKey(),
  description: text('description').notNull().default(''),
  rules: jsonb('rules').$type<TemplateRule[]>().notNull(),
  warnPct: integer('warn_pct').notNull(),
  criticalPct: integer('critical_pct').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const quotaRequests = pgTable(
  'quota_requests',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id),
    userId: text('user_id').notNull().references(() => users.id),
    budgetId: text('budget_id').notNull().references(() => budgets.id, { onDelete: 'cascade' }),
    // Added to the budget's limit on approval, in the budget's unit.
    amount: bigint('amount', { mode: 'number' }).notNull(),
    justification: text('justification').notNull(),
    // pending | approved | denied
    status: text('status').notNull().default('pending'),
    decidedBy: text('decided_by'),
    reason: text('reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
  },
  (t) => [
    index('quota_requests_status_idx').on(t.orgId, t.status),
    index('quota_requests_user_idx').on(t.userId),
    check('quota_requests_status_ck', sql`${t.status} in ('pending', 'approved', 'denied')`),
    check('quota_requests_amount_ck', sql`${t.amount} > 0`),
  ],
);
