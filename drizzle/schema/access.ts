// Network access rules the control plane stores: IP allow-lists (CIDRs) for a key or a whole org.
import { sql } from 'drizzle-orm';
import { check, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { orgs } from './identity.js';

export const ipAllowLists = pgTable(
  'ip_allow_lists',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id),
    // key | org: a key's list and its org's list must both admit the caller.
    scope: text('scope').notNull(),
    scopeId: text('scope_id').notNull(),
    // Normalised CIDRs, IPv4 or IPv6 (a bare address is stored as /32 or /128).
    cidrs: text('cidrs').array().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('ip_allow_lists_scope_uq').on(t.orgId, t.scope, t.scopeId), check('ip_allow_lists_scope_ck', sql`${t.scope} in ('key', 'org')`)],
);
