-- Who paid before a chargeback change (src/control/chargeback.ts): each change of a user's or a
-- team's department, cost center or labels keeps the values it replaced, valid until the next whole UTC
-- hour after the change (when the new ones take effect), so usage is charged to the cost center
-- of its own time (src/analytics/chargeback-usage.ts) while hourly rollups still serve the query.
CREATE TABLE "chargeback_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL REFERENCES "orgs"("id"),
	"user_id" text REFERENCES "users"("id") ON DELETE CASCADE,
	"team_id" text REFERENCES "teams"("id") ON DELETE CASCADE,
	"department" text,
	"cost_center" text,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"valid_until" timestamp with time zone NOT NULL,
	CONSTRAINT "chargeback_history_one_subject" CHECK (("user_id" IS NULL) <> ("team_id" IS NULL))
);
--> statement-breakpoint
CREATE INDEX "chargeback_history_org_until_idx" ON "chargeback_history" ("org_id", "valid_until");
