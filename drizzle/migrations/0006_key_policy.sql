-- The limits admins and managers set for the API keys a user mints for themselves: allowed
-- models, maximum lifetime, scopes (src/control/key-policy.ts). Null: no policy set.
ALTER TABLE "users" ADD COLUMN "key_policy" jsonb;
