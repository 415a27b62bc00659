// Who may call the gateway: orgs, nested teams, users and their API keys (stored only as hashes).
import { sql } from 'drizzle-orm';
import { bigserial, boolean, check, index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

// Who pays (src/control/chargeback.ts): reports group usage by these; a user's own values win over
// their team's. Labels are free key-value pairs.
const chargebackColumns = () => ({
  department: text('department'),
  costCenter: text('cost_center'),
  labels: jsonb('labels').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
});

export const orgs = pgTable('orgs', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const teams = pgTable(
  'teams',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id),
    parentId: text('parent_id'),
    name: text('name').notNull(),
    ...chargebackColumns(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('teams_org_name_uq').on(t.orgId, t.name), index('teams_parent_idx').on(t.parentId)],
);

// The department, cost center and labels a user or team had until `validUntil` (the next whole UTC hour
// after a change), so usage before it stays charged to them (src/analytics/chargeback-usage.ts).
export const chargebackHistory = pgTable(
  'chargeback_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id),
    userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
    teamId: text('team_id').references(() => teams.id, { onDelete: 'cascade' }),
    department: text('department'),
    costCenter: text('cost_center'),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    validUntil: timestamp('valid_until', { withTimezone: true }).notNull(),
  },
  (t) => [index('chargeback_history_org_until_idx').on(t.orgId, t.validUntil), check('chargeback_history_one_subject', sql`(${t.userId} is null) <> (${t.teamId} is null)`)],
);

// Set by admins and managers; binds the keys a user with own-keys reach (a developer) creates.
export interface KeyPolicy {
  // null: every model in the catalog.
  allowedModels: string[] | null;
  // null: keys may never expire.
  maxLifetimeDays: number | null;
  // null: every endpoint family.
  scopes: string[] | null;
}

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id),
    teamId: text('team_id').references(() => teams.id),
    // The handle people type in the CLI (`--user alice`); unique within an org.
    name: text('name').notNull(),
    email: text('email'),
    role: text('role').notNull().default('developer'),
    active: boolean('active').notNull().default(true),
    // Limits on the keys the user mints for themselves (src/control/key-policy.ts); null: none set.
    keyPolicy: jsonb('key_policy').$type<KeyPolicy | null>(),
    ...chargebackColumns(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('users_org_name_uq').on(t.orgId, t.name), index('users_team_idx').on(t.teamId)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id),
    userId: text('user_id').notNull().references(() => users.id),
    name: text('name'),
    // SHA-256 of the full key, hex. The plaintext is shown once at creation and never stored.
    hash: text('hash').notNull(),
    // The first characters of the key, kept so people can tell their keys apart.
    prefix: text('prefix').notNull(),
    scopes: jsonb('scopes').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    // Null means every model in the catalog; otherwise model names or aliases.
    allowedModels: jsonb('allowed_models').$type<string[] | null>(),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('api_keys_hash_uq').on(t.hash), index('api_keys_user_idx').on(t.userId)],
);
