-- The change feed of API keys that every replica's principal cache polls instead of reloading the
-- whole key table (src/auth/key-change-feed.ts). Triggers write it in the same transaction as the
-- change, so no writer can forget it. A row names one key hash, every key of one user (user_id),
-- or, with both null, every key (a team moved: team chains changed).
-- Rows are read in (tx, id) order up to the oldest transaction still running, so a transaction that
-- commits late cannot be skipped the way a plain serial watermark would skip it.
CREATE TABLE "key_changes" (
	"tx" xid8 DEFAULT pg_current_xact_id() NOT NULL,
	"id" bigserial NOT NULL,
	"key_hash" text,
	"user_id" text,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "key_changes_pk" PRIMARY KEY ("tx", "id")
);
--> statement-breakpoint
CREATE INDEX "key_changes_changed_at_idx" ON "key_changes" USING btree ("changed_at");
--> statement-breakpoint
CREATE FUNCTION "key_changes_from_api_keys"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN INSERT INTO "key_changes" ("key_hash") VALUES (OLD."hash"); END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW."hash" <> OLD."hash") THEN INSERT INTO "key_changes" ("key_hash") VALUES (NEW."hash"); END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "api_keys_added_or_deleted" AFTER INSERT OR DELETE ON "api_keys" FOR EACH ROW EXECUTE FUNCTION "key_changes_from_api_keys"();
--> statement-breakpoint
-- last_used_at is stamped every few seconds for every key in use: only what a principal holds counts.
CREATE TRIGGER "api_keys_changed" AFTER UPDATE ON "api_keys" FOR EACH ROW
WHEN ((OLD."hash", OLD."org_id", OLD."user_id", OLD."scopes", OLD."allowed_models", OLD."expires_at", OLD."revoked_at") IS DISTINCT FROM (NEW."hash", NEW."org_id", NEW."user_id", NEW."scopes", NEW."allowed_models", NEW."expires_at", NEW."revoked_at"))
EXECUTE FUNCTION "key_changes_from_api_keys"();
--> statement-breakpoint
CREATE FUNCTION "key_changes_from_users"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "key_changes" ("user_id") VALUES (NEW."id");
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "users_changed" AFTER UPDATE ON "users" FOR EACH ROW
WHEN ((OLD."active", OLD."team_id") IS DISTINCT FROM (NEW."active", NEW."team_id"))
EXECUTE FUNCTION "key_changes_from_users"();
--> statement-breakpoint
CREATE FUNCTION "key_changes_from_teams"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "key_changes" DEFAULT VALUES;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "teams_moved" AFTER UPDATE ON "teams" FOR EACH ROW
WHEN (OLD."parent_id" IS DISTINCT FROM NEW."parent_id")
EXECUTE FUNCTION "key_changes_from_teams"();
