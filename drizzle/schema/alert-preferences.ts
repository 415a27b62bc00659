// Personal budget alerts (src/alerts/personal-thresholds.ts): a user's own thresholds and email,
// and the notices already sent, one per user, budget counter and window, and threshold.
import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { alertChannels } from './alerts.js';
import { apiKeys, orgs, users } from './identity.js';

export const alertPreferences = pgTable('alert_preferences', {
  userId: text('user_id').primaryKey().references(() => users.id, { onDelete: 'cascade' }),
  orgId: text('org_id').notNull().references(() => orgs.id),
  // The key they were set with: the budgets that apply to it are the ones watched.
  keyId: text('key_id').notNull().references(() => apiKeys.id, { onDelete: 'cascade' }),
  email: text('email').notNull(),
  thresholdsPercent: integer('thresholds_percent').array().notNull(),
  // The user's own email channel; no route points at it, so only their notices use it.
  channelId: text('channel_id').notNull().references(() => alertChannels.id),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const personalAlertNotices = pgTable(
  'personal_alert_notices',
  {
    fingerprint: text('fingerprint').primaryKey(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
    // The counter's window end: past it the row is no longer needed to dedupe.
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [index('personal_alert_notices_expiry_idx').on(t.expiresAt)],
);
