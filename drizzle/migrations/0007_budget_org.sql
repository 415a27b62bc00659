-- A session budget may refuse requests that send no x-session-id (src/budget/rules.ts requireSession).
ALTER TABLE "budgets" ADD COLUMN "require_session" boolean DEFAULT false NOT NULL;
--> statement-breakpoint
ALTER TABLE "budgets" ADD CONSTRAINT "budgets_require_session_ck" CHECK (NOT "budgets"."require_session" OR "budgets"."window" = 'session');
