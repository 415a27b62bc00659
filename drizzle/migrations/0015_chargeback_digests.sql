-- Chargeback metadata on users and teams (src/control/chargeback.ts): a department, a cost center
-- and free key-value labels, which usage queries and reports group by.
ALTER TABLE "users" ADD COLUMN "department" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "cost_center" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "labels" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "teams" ADD COLUMN "department" text;--> statement-breakpoint
ALTER TABLE "teams" ADD COLUMN "cost_center" text;--> statement-breakpoint
ALTER TABLE "teams" ADD COLUMN "labels" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
-- Scheduled report digests (src/reports/): what to send, for which org or team, how often, where.
CREATE TABLE "report_schedules" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL REFERENCES "orgs"("id"),
	"team_id" text REFERENCES "teams"("id") ON DELETE CASCADE,
	"name" text NOT NULL,
	"cadence" text NOT NULL,
	"tz" text DEFAULT 'UTC' NOT NULL,
	"channel_ids" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"top" integer DEFAULT 10 NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "report_schedules_cadence_ck" CHECK ("cadence" in ('daily', 'weekly', 'monthly'))
);--> statement-breakpoint
CREATE UNIQUE INDEX "report_schedules_org_name_uq" ON "report_schedules" ("org_id", "name");--> statement-breakpoint
-- One row per schedule and period: the unique key makes a digest go out once however many replicas
-- try; a claim (claimed_by, claimed_until) lets one of them build it and another take over if it dies.
CREATE TABLE "report_digests" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"schedule_id" text NOT NULL REFERENCES "report_schedules"("id") ON DELETE CASCADE,
	"period_from" date NOT NULL,
	"period_to" date NOT NULL,
	"state" text DEFAULT 'building' NOT NULL,
	"claimed_by" text NOT NULL,
	"claimed_until" timestamp with time zone NOT NULL,
	"totals" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"queued_at" timestamp with time zone,
	CONSTRAINT "report_digests_state_ck" CHECK ("state" in ('building', 'queued'))
);--> statement-breakpoint
CREATE UNIQUE INDEX "report_digests_period_uq" ON "report_digests" ("schedule_id", "period_from");
