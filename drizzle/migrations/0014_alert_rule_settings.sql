-- Alert rule settings set through the admin API (src/alerts/rule-settings.ts): one row per rule
-- name, holding only the fields that override the config file's `alertRules` values.
CREATE TABLE "alert_rule_settings" (
	"name" text PRIMARY KEY NOT NULL,
	"overrides" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text NOT NULL
);
