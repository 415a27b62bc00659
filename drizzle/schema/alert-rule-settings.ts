// Alert rule settings changed through the admin API (src/alerts/rule-settings.ts): per rule, the
// fields that override the config file's `alertRules` values; a field absent here keeps config's.
import { jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const alertRuleSettings = pgTable('alert_rule_settings', {
  name: text('name').primaryKey(),
  overrides: jsonb('overrides').$type<Record<string, unknown>>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  updatedBy: text('updated_by').notNull(),
});
