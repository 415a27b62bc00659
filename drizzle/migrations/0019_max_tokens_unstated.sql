-- Requests that stated no max_tokens (nor max_completion_tokens, max_output_tokens): metering
-- reserved the catalog's output cap for them. A ledger fact, so the recommendation to set
-- max_tokens has figures (src/analytics/recommendations.ts); rollups count them like the other
-- flags, with the output tokens they used (what they reserved is their count times the cap).
-- Rows written before it read false (not known): the figures understate, never invent.
ALTER TABLE "usage_events" ADD COLUMN "max_tokens_unstated" boolean DEFAULT false NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "max_tokens_unstated_requests" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "max_tokens_unstated_output_tokens" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "max_tokens_unstated_requests" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "max_tokens_unstated_output_tokens" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_15m" ADD COLUMN "max_tokens_unstated_requests" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_15m" ADD COLUMN "max_tokens_unstated_output_tokens" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_hourly" ADD COLUMN "max_tokens_unstated_requests" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_hourly" ADD COLUMN "max_tokens_unstated_output_tokens" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_daily" ADD COLUMN "max_tokens_unstated_requests" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_daily" ADD COLUMN "max_tokens_unstated_output_tokens" bigint DEFAULT 0 NOT NULL;
