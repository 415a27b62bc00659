CREATE TABLE "usage_events" (
	"request_id" text PRIMARY KEY NOT NULL,
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
	"session_id" text,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_rollups_hourly" (
	"hour" timestamp with time zone NOT NULL,
	"org_id" text NOT NULL,
	"team_id" text,
	"user_id" text NOT NULL,
	"key_id" text NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"requests" bigint NOT NULL,
	"error_requests" bigint NOT NULL,
	"estimated_requests" bigint NOT NULL,
	"prompt_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"completion_tokens" bigint NOT NULL,
	"reasoning_tokens" bigint NOT NULL,
	"cost_micros" bigint NOT NULL,
	"latency_ms_sum" bigint NOT NULL,
	CONSTRAINT "usage_rollups_hourly_uq" UNIQUE NULLS NOT DISTINCT("org_id","hour","team_id","user_id","key_id","provider","model")
);
--> statement-breakpoint
CREATE INDEX "usage_events_org_time_idx" ON "usage_events" USING btree ("org_id","time");--> statement-breakpoint
CREATE INDEX "usage_events_team_time_idx" ON "usage_events" USING btree ("team_id","time") WHERE "usage_events"."team_id" is not null;--> statement-breakpoint
CREATE INDEX "usage_events_user_time_idx" ON "usage_events" USING btree ("user_id","time");--> statement-breakpoint
CREATE INDEX "usage_events_key_time_idx" ON "usage_events" USING btree ("key_id","time");--> statement-breakpoint
CREATE INDEX "usage_events_time_brin" ON "usage_events" USING brin ("time");--> statement-breakpoint
CREATE INDEX "usage_rollups_hourly_team_idx" ON "usage_rollups_hourly" USING btree ("team_id","hour") WHERE "usage_rollups_hourly"."team_id" is not null;--> statement-breakpoint
CREATE INDEX "usage_rollups_hourly_user_idx" ON "usage_rollups_hourly" USING btree ("user_id","hour");--> statement-breakpoint
CREATE INDEX "usage_rollups_hourly_key_idx" ON "usage_rollups_hourly" USING btree ("key_id","hour");