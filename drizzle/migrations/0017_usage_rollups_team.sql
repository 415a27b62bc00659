-- Rollups per org, team, provider and model (no user or key): a few hundred rows a day instead of
-- thousands, which org and team views read (src/analytics/query-plan.ts). At 15 minutes, an hour
-- and a UTC day: the 15-minute rows hold exact local days in +05:30 and +05:45 zones, whose
-- midnights split a UTC hour. Filled from the raw events (15 minutes) and the wide rollups.
CREATE TABLE "usage_rollups_team_15m" (
	"quarter" timestamp with time zone NOT NULL,
	"org_id" text NOT NULL,
	"team_id" text,
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
	CONSTRAINT "usage_rollups_team_15m_uq" UNIQUE NULLS NOT DISTINCT("org_id","quarter","team_id","provider","model")
) WITH (fillfactor = 70);
--> statement-breakpoint
CREATE TABLE "usage_rollups_team_hourly" (LIKE "usage_rollups_team_15m" INCLUDING DEFAULTS);
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_hourly" RENAME COLUMN "quarter" TO "hour";
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_hourly" ADD CONSTRAINT "usage_rollups_team_hourly_uq" UNIQUE NULLS NOT DISTINCT("org_id","hour","team_id","provider","model");
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_hourly" SET (fillfactor = 70);
--> statement-breakpoint
CREATE TABLE "usage_rollups_team_daily" (LIKE "usage_rollups_team_15m" INCLUDING DEFAULTS);
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_daily" RENAME COLUMN "quarter" TO "day";
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_daily" ADD CONSTRAINT "usage_rollups_team_daily_uq" UNIQUE NULLS NOT DISTINCT("org_id","day","team_id","provider","model");
--> statement-breakpoint
ALTER TABLE "usage_rollups_team_daily" SET (fillfactor = 70);
--> statement-breakpoint
INSERT INTO "usage_rollups_team_15m" ("quarter", "org_id", "team_id", "provider", "model", "requests", "error_requests", "estimated_requests", "unmetered_requests",
  "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_micros", "latency_ms_sum")
SELECT date_bin('15 minutes', "time", timestamptz '2000-01-01T00:00:00Z'), "org_id", "team_id", "provider", "model", count(*),
  count(*) FILTER (WHERE "status" >= 400 OR "error_code" IS NOT NULL), count(*) FILTER (WHERE "estimated"), count(*) FILTER (WHERE "unmetered"),
  sum("prompt_tokens"), sum("cached_tokens"), sum("completion_tokens"), sum("reasoning_tokens"), sum("cost_micros"), sum("latency_ms")
FROM "usage_events"
GROUP BY 1, "org_id", "team_id", "provider", "model";
--> statement-breakpoint
INSERT INTO "usage_rollups_team_hourly" ("hour", "org_id", "team_id", "provider", "model", "requests", "error_requests", "estimated_requests", "unmetered_requests",
  "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_micros", "latency_ms_sum")
SELECT "hour", "org_id", "team_id", "provider", "model", sum("requests"), sum("error_requests"), sum("estimated_requests"), sum("unmetered_requests"),
  sum("prompt_tokens"), sum("cached_tokens"), sum("completion_tokens"), sum("reasoning_tokens"), sum("cost_micros"), sum("latency_ms_sum")
FROM "usage_rollups_hourly"
GROUP BY "hour", "org_id", "team_id", "provider", "model";
--> statement-breakpoint
INSERT INTO "usage_rollups_team_daily" ("day", "org_id", "team_id", "provider", "model", "requests", "error_requests", "estimated_requests", "unmetered_requests",
  "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_micros", "latency_ms_sum")
SELECT "day", "org_id", "team_id", "provider", "model", sum("requests"), sum("error_requests"), sum("estimated_requests"), sum("unmetered_requests"),
  sum("prompt_tokens"), sum("cached_tokens"), sum("completion_tokens"), sum("reasoning_tokens"), sum("cost_micros"), sum("latency_ms_sum")
FROM "usage_rollups_daily"
GROUP BY "day", "org_id", "team_id", "provider", "model";
