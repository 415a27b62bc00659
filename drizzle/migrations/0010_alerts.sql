-- Alerts, their history, notification channels and routes, and the notification outbox (src/alerts/).
CREATE TABLE "alerts" (
	"id" text PRIMARY KEY NOT NULL,
	"fingerprint" text NOT NULL,
	"source" text NOT NULL,
	"name" text NOT NULL,
	"severity" text NOT NULL,
	"state" text DEFAULT 'firing' NOT NULL,
	"summary" text NOT NULL,
	"org_id" text,
	"team_id" text,
	"user_id" text,
	"bucket_key" text,
	"inhibit_group" text,
	"inhibit_rank" integer DEFAULT 0 NOT NULL,
	"inhibited" boolean DEFAULT false NOT NULL,
	"figures" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"first_seen_at" timestamp (3) with time zone NOT NULL,
	"last_seen_at" timestamp (3) with time zone NOT NULL,
	"ends_at" timestamp (3) with time zone,
	"last_notified_at" timestamp (3) with time zone,
	"escalation_step" integer DEFAULT 0 NOT NULL,
	"escalated_at" timestamp (3) with time zone,
	"acked_by" text,
	"acked_at" timestamp (3) with time zone,
	"resolved_by" text,
	"resolved_at" timestamp (3) with time zone,
	CONSTRAINT "alerts_severity_ck" CHECK ("alerts"."severity" in ('low', 'medium', 'high', 'critical')),
	CONSTRAINT "alerts_state_ck" CHECK ("alerts"."state" in ('firing', 'acknowledged', 'resolved'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_active_fingerprint_uq" ON "alerts" USING btree ("fingerprint") WHERE "alerts"."state" <> 'resolved';
--> statement-breakpoint
CREATE INDEX "alerts_state_idx" ON "alerts" USING btree ("state","last_seen_at");
--> statement-breakpoint
CREATE INDEX "alerts_org_idx" ON "alerts" USING btree ("org_id","first_seen_at");
--> statement-breakpoint
CREATE INDEX "alerts_group_idx" ON "alerts" USING btree ("inhibit_group") WHERE "alerts"."state" <> 'resolved';
--> statement-breakpoint
CREATE TABLE "alert_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"alert_id" text NOT NULL REFERENCES "alerts"("id") ON DELETE cascade,
	"at" timestamp (3) with time zone NOT NULL,
	"kind" text NOT NULL,
	"actor" text,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX "alert_events_alert_idx" ON "alert_events" USING btree ("alert_id","id");
--> statement-breakpoint
CREATE TABLE "alert_channels" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text REFERENCES "orgs"("id"),
	"name" text NOT NULL,
	"type" text NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"secrets" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"disabled_reason" text,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "alert_channels_type_ck" CHECK ("alert_channels"."type" in ('console', 'webhook', 'slack', 'email'))
);
--> statement-breakpoint
CREATE TABLE "alert_routes" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text REFERENCES "orgs"("id"),
	"team_id" text,
	"source" text,
	"min_severity" text DEFAULT 'low' NOT NULL,
	"channel_id" text NOT NULL REFERENCES "alert_channels"("id") ON DELETE cascade,
	"step" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "alert_routes_severity_ck" CHECK ("alert_routes"."min_severity" in ('low', 'medium', 'high', 'critical')),
	CONSTRAINT "alert_routes_step_ck" CHECK ("alert_routes"."step" >= 0)
);
--> statement-breakpoint
CREATE INDEX "alert_routes_org_idx" ON "alert_routes" USING btree ("org_id");
--> statement-breakpoint
CREATE TABLE "notification_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"webhook_id" text NOT NULL,
	"alert_id" text REFERENCES "alerts"("id") ON DELETE cascade,
	"channel_id" text NOT NULL REFERENCES "alert_channels"("id") ON DELETE cascade,
	"event" text NOT NULL,
	"payload" jsonb NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone NOT NULL,
	"last_status" integer,
	"last_error" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"sent_at" timestamp (3) with time zone,
	CONSTRAINT "notification_outbox_state_ck" CHECK ("notification_outbox"."state" in ('pending', 'sent', 'failed', 'dropped'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "notification_outbox_webhook_id_uq" ON "notification_outbox" USING btree ("webhook_id");
--> statement-breakpoint
CREATE INDEX "notification_outbox_due_idx" ON "notification_outbox" USING btree ("next_attempt_at") WHERE "notification_outbox"."state" = 'pending';
--> statement-breakpoint
CREATE INDEX "notification_outbox_alert_idx" ON "notification_outbox" USING btree ("alert_id");
