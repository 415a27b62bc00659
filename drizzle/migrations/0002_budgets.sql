CREATE TABLE "budgets" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"scope" text NOT NULL,
	"scope_id" text NOT NULL,
	"metric" text NOT NULL,
	"window" text NOT NULL,
	"limit" bigint NOT NULL,
	"warn_pct" integer DEFAULT 80 NOT NULL,
	"critical_pct" integer DEFAULT 95 NOT NULL,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"clamp" boolean,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "budgets_scope_ck" CHECK ("budgets"."scope" in ('key', 'user', 'team', 'org')),
	CONSTRAINT "budgets_metric_ck" CHECK ("budgets"."metric" in ('tokens', 'costMicros', 'requests')),
	CONSTRAINT "budgets_window_ck" CHECK ("budgets"."window" in ('minute', 'hour', 'day', 'month', 'total', 'session')),
	CONSTRAINT "budgets_session_scope_ck" CHECK ("budgets"."window" <> 'session' or "budgets"."scope" in ('key', 'user')),
	CONSTRAINT "budgets_limit_ck" CHECK ("budgets"."limit" >= 0),
	CONSTRAINT "budgets_pct_ck" CHECK ("budgets"."warn_pct" between 1 and 100 and "budgets"."critical_pct" between 1 and 100 and "budgets"."warn_pct" <= "budgets"."critical_pct")
);
--> statement-breakpoint
CREATE TABLE "rate_limits" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"scope" text NOT NULL,
	"scope_id" text NOT NULL,
	"rpm" integer,
	"tpm" integer,
	"concurrency" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rate_limits_scope_ck" CHECK ("rate_limits"."scope" in ('key', 'user')),
	CONSTRAINT "rate_limits_positive_ck" CHECK (coalesce("rate_limits"."rpm", 1) > 0 and coalesce("rate_limits"."tpm", 1) > 0 and coalesce("rate_limits"."concurrency", 1) > 0)
);
--> statement-breakpoint
ALTER TABLE "budgets" ADD CONSTRAINT "budgets_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rate_limits" ADD CONSTRAINT "rate_limits_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "budgets_scope_uq" ON "budgets" USING btree ("org_id","scope","scope_id","metric","window");--> statement-breakpoint
CREATE UNIQUE INDEX "rate_limits_scope_uq" ON "rate_limits" USING btree ("org_id","scope","scope_id");