// Minimal identity bootstrap shared by the CLI and the admin API: find-or-create an org, team and
// user by name, create and revoke keys. Every change publishes an invalidation so running
// replicas see it within a second.
import { and, eq } from 'drizzle-orm';
import { apiKeys, orgs, teams, users } from '../../drizzle/schema/index.js';
import { generateKey, newId } from '../auth/keys.js';
import type { InvalidationBus } from '../auth/invalidation.js';
import type { Db } from '../db/database.js';

export async function ensureOrg(db: Db, name: string): Promise<string> {
  await db.insert(orgs).values({ id: newId('org'), name }).onConflictDoNothing();
  const [row] = await db.select({ id: orgs.id }).from(orgs).where(eq(orgs.name, name));
  return row!.id;
}

export async function ensureTeam(db: Db, orgId: string, name: string, parentId: string | null = null): Promise<string> {
  await db.insert(teams).values({ id: newId('team'), orgId, name, parentId }).onConflictDoNothing();
  const [row] = await db.select({ id: teams.id }).from(teams).where(and(eq(teams.orgId, orgId), eq(teams.name, name)));
  return row!.id;
}

export async function ensureUser(db: Db, orgId: string, name: string, teamId: string | null): Promise<string> {
  await db.insert(users).values({ id: newId('usr'), orgId, name, teamId }).onConflictDoNothing();
  const [row] = await db.select({ id: users.id }).from(users).where(and(eq(users.orgId, orgId), eq(users.name, name)));
  return row!.id;
}

export interface CreateKeyInput {
  org: string;
  team?: string | undefined;
  user: string;
  name?: string | undefined;
  allowedModels?: string[] | undefined;
  expiresAt?: Date | undefined;
}

export interface CreatedKey {
  key: string;
  id: string;
  prefix: string;
  orgId: string;
  teamId: string | null;
  userId: string;
}

export async function createKey(db: Db, bus: InvalidationBus, input: CreateKeyInput): Promise<CreatedKey> {
  const orgId = await ensureOrg(db, input.org);
  const teamId = input.team ? await ensureTeam(db, orgId, input.team) : null;
  const userId = await ensureUser(db, orgId, input.user, teamId);
  const generated = generateKey();
  const id = newId('key');
  await db.insert(apiKeys).values({
    id,
    orgId,
    userId,
    name: input.name ?? null,
    hash: generated.hash,
    prefix: generated.prefix,
    allowedModels: input.allowedModels ?? null,
    expiresAt: input.expiresAt ?? null,
  });
  await bus.publish({ kind: 'key', id });
  return { key: generated.key, id, prefix: generated.prefix, orgId, teamId, userId };
}

export async function revokeKey(db: Db, bus: InvalidationBus, id: string): Promise<boolean> {
  const rows = await db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, id)).returning({ id: apiKeys.id });
  await bus.publish({ kind: 'key', id });
  return rows.length > 0;
}
