-- Rollups per org, user and key only (no team, provider or model): a third of the wide rollups'
-- rows, which the analyses' per-user and per-key day series read (src/analytics/inputs.ts: 90 days
-- of them were most of a month report at ten million events). At an hour and a UTC day, filled
-- from the wide rollups.
CREATE TABLE "usage_rollups_key_hourly" (
	"hour" timestamp with time zone NOT NULL,
	"org_id" text NOT NULL,
	"user_id" text NOT NULL,
	"key_id" text NOT NULL,
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
	"max_tokens_unstated_requests" bigint DEFAULT 0 NOT NULL,
	"max_tokens_unstated_output_tokens" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_rollups_key_hourly_uq" UNIQUE("org_id","hour","user_id","key_id")
) WITH (fillfactor = 70);
--> statement-breakpoint
CREATE TABLE "usage_rollups_key_daily" (LIKE "usage_rollups_key_hourly" INCLUDING DEFAULTS);
--> statement-breakpoint
ALTER TABLE "usage_rollups_key_daily" RENAME COLUMN "hour" TO "day";
--> statement-breakpoint
ALTER TABLE "usage_rollups_key_daily" ADD CONSTRAINT "usage_rollups_key_daily_uq" UNIQUE("org_id","day","user_id","key_id");
--> statement-breakpoint
ALTER TABLE "usage_rollups_key_daily" SET (fillfactor = 70);
--> statement-breakpoint
-- As on the wide rollups: a person's erasure (src/privacy/erase.ts) finds their rows by these.
CREATE INDEX "usage_rollups_key_hourly_user_idx" ON "usage_rollups_key_hourly" ("user_id", "hour");
--> statement-breakpoint
CREATE INDEX "usage_rollups_key_hourly_key_idx" ON "usage_rollups_key_hourly" ("key_id", "hour");
--> statement-breakpoint
CREATE INDEX "usage_rollups_key_daily_user_idx" ON "usage_rollups_key_daily" ("user_id", "day");
--> statement-breakpoint
CREATE INDEX "usage_rollups_key_daily_key_idx" ON "usage_rollups_key_daily" ("key_id", "day");
--> statement-breakpoint
INSERT INTO "usage_rollups_key_hourly" ("hour", "org_id", "user_id", "key_id", "requests", "error_requests", "estimated_requests", "unmetered_requests",
  "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_micros", "latency_ms_sum", "max_tokens_unstated_requests", "max_tokens_unstated_output_tokens")
SELECT "hour", "org_id", "user_id", "key_id", sum("requests"), sum("error_requests"), sum("estimated_requests"), sum("unmetered_requests"),
  sum("prompt_tokens"), sum("cached_tokens"), sum("completion_tokens"), sum("reasoning_tokens"), sum("cost_micros"), sum("latency_ms_sum"),
  sum("max_tokens_unstated_requests"), sum("max_tokens_unstated_output_tokens")
FROM "usage_rollups_hourly"
GROUP BY "hour", "org_id", "user_id", "key_id";
--> statement-breakpoint
INSERT INTO "usage_rollups_key_daily" ("day", "org_id", "user_id", "key_id", "requests", "error_requests", "estimated_requests", "unmetered_requests",
  "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_micros", "latency_ms_sum", "max_tokens_unstated_requests", "max_tokens_unstated_output_tokens")
SELECT "day", "org_id", "user_id", "key_id", sum("requests"), sum("error_requests"), sum("estimated_requests"), sum("unmetered_requests"),
  sum("prompt_tokens"), sum("cached_tokens"), sum("completion_tokens"), sum("reasoning_tokens"), sum("cost_micros"), sum("latency_ms_sum"),
  sum("max_tokens_unstated_requests"), sum("max_tokens_unstated_output_tokens")
FROM "usage_rollups_daily"
GROUP BY "day", "org_id", "user_id", "key_id";
