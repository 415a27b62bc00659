-- usage_events partitioned by UTC month of `time` (declarative range partitions named
-- usage_events_YYYY_MM), so retention drops whole months instead of deleting rows. A partitioned
-- table's primary key must hold the partition key: (request_id, time). The ledger's dedup stays
-- exact because an event's time is fixed when the gateway records it and travels with every
-- redelivery (src/usage/ledger.ts). Existing rows are copied into the new table.
-- One function makes a month's partition, shared by this migration, the maintenance task and the
-- ledger (which makes a missing month on demand rather than refusing the events).
CREATE OR REPLACE FUNCTION usage_events_create_partition(p_month date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  first_day date := date_trunc('month', p_month)::date;
  name text := 'usage_events_' || to_char(first_day, 'YYYY_MM');
BEGIN
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
    name, first_day::timestamp AT TIME ZONE 'UTC', (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC');
  RETURN name;
END $$;
--> statement-breakpoint
ALTER TABLE "usage_events" RENAME TO "usage_events_unpartitioned";
--> statement-breakpoint
ALTER TABLE "usage_events_unpartitioned" RENAME CONSTRAINT "usage_events_pkey" TO "usage_events_unpartitioned_pkey";
--> statement-breakpoint
DROP INDEX "usage_events_org_time_idx", "usage_events_team_time_idx", "usage_events_user_time_idx", "usage_events_key_time_idx", "usage_events_time_brin";
--> statement-breakpoint
CREATE TABLE "usage_events" (
	"request_id" text NOT NULL,
	"time" timestamp (3) with time zone NOT NULL,
	"org_id" text NOT NULL,
	"team_id" text,
	"user_id" text NOT NULL,
	"key_id" text NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"prompt_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"completion_tokens" bigint NOT NULL,
	"reasoning_tokens" bigint NOT NULL,
	"cost_micros" bigint NOT NULL,
	"status" integer NOT NULL,
	"error_code" text,
	"stream" boolean NOT NULL,
	"latency_ms" bigint NOT NULL,
	"ttfb_ms" bigint,
	"estimated" boolean NOT NULL,
	"unmetered" boolean DEFAULT false NOT NULL,
	"session_id" text,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "usage_events_pkey" PRIMARY KEY ("request_id", "time")
) PARTITION BY RANGE ("time");
--> statement-breakpoint
-- Every month the old rows span, through two months ahead (the maintenance task keeps that lead).
SELECT usage_events_create_partition(m::date)
FROM generate_series(
  date_trunc('month', least(coalesce((SELECT min("time") FROM "usage_events_unpartitioned"), now()), now()) AT TIME ZONE 'UTC'),
  date_trunc('month', greatest(coalesce((SELECT max("time") FROM "usage_events_unpartitioned"), now()), now()) AT TIME ZONE 'UTC') + interval '2 months',
  interval '1 month') m;
--> statement-breakpoint
INSERT INTO "usage_events" ("request_id", "time", "org_id", "team_id", "user_id", "key_id", "provider", "model", "prompt_tokens", "cached_tokens",
  "completion_tokens", "reasoning_tokens", "cost_micros", "status", "error_code", "stream", "latency_ms", "ttfb_ms", "estimated", "unmetered", "session_id", "tags")
SELECT "request_id", "time", "org_id", "team_id", "user_id", "key_id", "provider", "model", "prompt_tokens", "cached_tokens",
  "completion_tokens", "reasoning_tokens", "cost_micros", "status", "error_code", "stream", "latency_ms", "ttfb_ms", "estimated", "unmetered", "session_id", "tags"
FROM "usage_events_unpartitioned";
--> statement-breakpoint
DROP TABLE "usage_events_unpartitioned";
--> statement-breakpoint
CREATE INDEX "usage_events_org_time_idx" ON "usage_events" USING btree ("org_id","time");--> statement-breakpoint
CREATE INDEX "usage_events_team_time_idx" ON "usage_events" USING btree ("team_id","time") WHERE "team_id" is not null;--> statement-breakpoint
CREATE INDEX "usage_events_user_time_idx" ON "usage_events" USING btree ("user_id","time");--> statement-breakpoint
CREATE INDEX "usage_events_key_time_idx" ON "usage_events" USING btree ("key_id","time");--> statement-breakpoint
CREATE INDEX "usage_events_time_brin" ON "usage_events" USING brin ("time");
