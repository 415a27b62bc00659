-- Daily rollups beside the hourly ones: a month report reads ~30 rows per key and model instead of
-- ~720. Same columns; `day` is the start of the UTC day. Filled from the hourly rollups, which hold
-- the same sums.
CREATE TABLE "usage_rollups_daily" (
	"day" timestamp with time zone NOT NULL,
	"org_id" text NOT NULL,
	"team_id" text,
	"user_id" text NOT NULL,
	"key_id" text NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"requests" bigint NOT NULL,
	"error_requests" bigint NOT NULL,
	"estimated_requests" bigint NOT NULL,
	"unmetered_requests" bigint DEFAULT 0 NOT NULL,
	"prompt_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"completion_tokens" bigint NOT NULL,
	"reasoning_tokens" bigint NOT NULL,
	"cost_micros" bigint NOT NULL,
	"latency_ms_sum" bigint NOT NULL,
	CONSTRAINT "usage_rollups_daily_uq" UNIQUE NULLS NOT DISTINCT("org_id","day","team_id","user_id","key_id","provider","model")
) WITH (fillfactor = 70);
--> statement-breakpoint
CREATE INDEX "usage_rollups_daily_team_idx" ON "usage_rollups_daily" USING btree ("team_id","day") WHERE "usage_rollups_daily"."team_id" is not null;--> statement-breakpoint
CREATE INDEX "usage_rollups_daily_user_idx" ON "usage_rollups_daily" USING btree ("user_id","day");--> statement-breakpoint
CREATE INDEX "usage_rollups_daily_key_idx" ON "usage_rollups_daily" USING btree ("key_id","day");--> statement-breakpoint
INSERT INTO "usage_rollups_daily" ("day", "org_id", "team_id", "user_id", "key_id", "provider", "model", "requests", "error_requests", "estimated_requests", "unmetered_requests", "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_micros", "latency_ms_sum")
SELECT date_bin('1 day', "hour", timestamptz '2000-01-01T00:00:00Z'), "org_id", "team_id", "user_id", "key_id", "provider", "model",
  sum("requests"), sum("error_requests"), sum("estimated_requests"), sum("unmetered_requests"), sum("prompt_tokens"), sum("cached_tokens"),
  sum("completion_tokens"), sum("reasoning_tokens"), sum("cost_micros"), sum("latency_ms_sum")
FROM "usage_rollups_hourly"
GROUP BY 1, "org_id", "team_id", "user_id", "key_id", "provider", "model";
