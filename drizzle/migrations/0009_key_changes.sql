-- The change feed of API keys that every replica's principal cache polls instead of reloading the
-- whole key table (src/auth/key-change-feed.ts). Triggers write it in the same transaction as the
-- change, so no writer can forget it. A row names one key hash, every key of one user (user_id),
-- or, with both null, every key (a team moved: team chains changed).
-- Ids come from a sequence, so a transaction can commit after one holding a later id; a reader
-- that moved past the later id would skip the earlier one for ever. Every writer therefore holds
-- a shared advisory lock (key 7361726931, also in key-change-feed.ts) until it commits; the reader
-- takes it exclusively for an instant, which waits for the writers in flight, and reads the ids
-- allocated by then, all of them finished.
CREATE TABLE "key_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key_hash" text,
	"user_id" text,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "key_changes_changed_at_idx" ON "key_changes" USING btree ("changed_at");
--> statement-breakpoint
CREATE FUNCTION "key_changes_from_api_keys"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7361726931);
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
  PERFORM pg_advisory_xact_lock_shared(7361726931);
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
  PERFORM pg_advisory_xact_lock_shared(7361726931);
  INSERT INTO "key_changes" DEFAULT VALUES;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "teams_moved" AFTER UPDATE ON "teams" FOR EACH ROW
WHEN (OLD."parent_id" IS DISTINCT FROM NEW."parent_id")
EXECUTE FUNCTION "key_changes_from_teams"();
