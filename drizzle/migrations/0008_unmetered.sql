-- Pass-through calls are flagged instead of hiding behind an `unmetered:<family>` model name.
ALTER TABLE "usage_events" ADD COLUMN "unmetered" boolean DEFAULT false NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "unmetered_requests" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
-- Rows written with the makeshift model prefix become flagged rows naming their family.
UPDATE "usage_events" SET "unmetered" = true, "model" = substr("model", 11) WHERE "model" LIKE 'unmetered:%';
--> statement-breakpoint
-- Their rollups move to the family's row (merging into one that already exists) and are counted apart.
INSERT INTO "usage_rollups_hourly" AS r ("hour", "org_id", "team_id", "user_id", "key_id", "provider", "model", "requests", "error_requests", "estimated_requests", "unmetered_requests", "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_micros", "latency_ms_sum")
SELECT "hour", "org_id", "team_id", "user_id", "key_id", "provider", substr("model", 11), "requests", "error_requests", "estimated_requests", "requests", "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_micros", "latency_ms_sum"
FROM "usage_rollups_hourly" WHERE "model" LIKE 'unmetered:%'
ON CONFLICT ON CONSTRAINT "usage_rollups_hourly_uq" DO UPDATE SET
  "requests" = r."requests" + excluded."requests",
  "error_requests" = r."error_requests" + excluded."error_requests",
  "estimated_requests" = r."estimated_requests" + excluded."estimated_requests",
  "unmetered_requests" = r."unmetered_requests" + excluded."unmetered_requests",
  "prompt_tokens" = r."prompt_tokens" + excluded."prompt_tokens",
  "cached_tokens" = r."cached_tokens" + excluded."cached_tokens",
  "completion_tokens" = r."completion_tokens" + excluded."completion_tokens",
  "reasoning_tokens" = r."reasoning_tokens" + excluded."reasoning_tokens",
  "cost_micros" = r."cost_micros" + excluded."cost_micros",
  "latency_ms_sum" = r."latency_ms_sum" + excluded."latency_ms_sum";
--> statement-breakpoint
DELETE FROM "usage_rollups_hourly" WHERE "model" LIKE 'unmetered:%';
