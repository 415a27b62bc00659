-- Personal budget alerts (src/alerts/personal-thresholds.ts): the thresholds and email a user set
-- with their key, and one row per notice sent (user, budget counter and window, threshold), whose
-- primary key makes replicas racing on the same crossing send it once.
CREATE TABLE "alert_preferences" (
	"user_id" text PRIMARY KEY NOT NULL REFERENCES "users"("id") ON DELETE cascade,
	"org_id" text NOT NULL REFERENCES "orgs"("id"),
	"key_id" text NOT NULL REFERENCES "api_keys"("id") ON DELETE cascade,
	"email" text NOT NULL,
	"thresholds_percent" integer[] NOT NULL,
	"channel_id" text NOT NULL REFERENCES "alert_channels"("id"),
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "personal_alert_notices" (
	"fingerprint" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL REFERENCES "users"("id") ON DELETE cascade,
	"at" timestamp (3) with time zone NOT NULL,
	"expires_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE INDEX "personal_alert_notices_expiry_idx" ON "personal_alert_notices" USING btree ("expires_at") WHERE "personal_alert_notices"."expires_at" IS NOT NULL;
