-- Rate and concurrency limits for teams and orgs too (src/control/limits.ts), and IP allow-lists
-- per key and per org (src/auth/ip-allow-list.ts).
ALTER TABLE "rate_limits" DROP CONSTRAINT "rate_limits_scope_ck";
--> statement-breakpoint
ALTER TABLE "rate_limits" ADD CONSTRAINT "rate_limits_scope_ck" CHECK ("rate_limits"."scope" in ('key', 'user', 'team', 'org'));
--> statement-breakpoint
CREATE TABLE "ip_allow_lists" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"scope" text NOT NULL,
	"scope_id" text NOT NULL,
	"cidrs" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ip_allow_lists_scope_ck" CHECK ("ip_allow_lists"."scope" in ('key', 'org'))
);
--> statement-breakpoint
ALTER TABLE "ip_allow_lists" ADD CONSTRAINT "ip_allow_lists_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
CREATE UNIQUE INDEX "ip_allow_lists_scope_uq" ON "ip_allow_lists" USING btree ("org_id","scope","scope_id");
