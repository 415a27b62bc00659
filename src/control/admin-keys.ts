// Admin API credentials. Looked up in Postgres on each admin request (admin traffic is light), so a
// revocation or a user's deactivation applies on every replica at once without a cache.
import { and, asc, eq, isNull } from 'drizzle-orm';
import { adminKeys, users } from '../../drizzle/schema/index.js';
import { hashKey, newId } from '../auth/keys.js';
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ChangeContext, Role } from './actor.js';
import { recordAudit } from './audit.js';
import { getUser } from './users.js';

type AdminKeyRow = typeof adminKeys.$inferSelect;
export type PublicAdminKey = Omit<AdminKeyRow, 'hash'>;

const publicAdminKey = ({ hash: _hash, ...rest }: AdminKeyRow): PublicAdminKey => rest;

// `tga-` tells admin keys from data-plane `tg-` keys at a glance (and in secret scanners).
export const adminKeyPrefix = 'tga-';

export interface AdminKeyInput {
  name: string;
  role: Role;
  userId?: string | null | undefined;
  expiresAt?: Date | null | undefined;
}

export async function createAdminKey(db: Db, change: ChangeContext, input: AdminKeyInput): Promise<PublicAdminKey & { key: string }> {
  if (input.userId) await getUser(db, input.userId);
  const key = adminKeyPrefix + randomBytes(32).toString('base64url');
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(adminKeys)
      .values({ id: newId('adk'), name: input.name, hash: hashKey(key), prefix: key.slice(0, 11), role: input.role, userId: input.userId ?? null, expiresAt: input.expiresAt ?? null })
      .returning();
    const after = publicAdminKey(row!);
    await recordAudit(tx, change, { action: 'admin_key.create', resourceType: 'admin_key', resourceId: after.id, orgId: null, before: null, after });
    return { ...after, key };
  });
}

// A bootstrap key is chosen by a person, not generated: hold it to the shape of generated ones
// (tga- and 43 random characters) closely enough that a guessable one cannot start a gateway.
const bootstrapMinLength = 32;

export function assertBootstrapKey(key: string): void {
  if (!key.startsWith(adminKeyPrefix) || key.length < bootstrapMinLength) {
    throw new Error(`TOLLGATE_ADMIN_KEY must start with "${adminKeyPrefix}" and be at least ${bootstrapMinLength} characters long (e.g. tga- followed by \`openssl rand -base64 32\`).`);
  }
}

// TOLLGATE_ADMIN_KEY at startup: every replica registers the same key; only the first insert
// lands (and is audited), the rest find it there.
export async function registerBootstrapKey(db: Db, change: ChangeContext, key: string): Promise<void> {
  assertBootstrapKey(key);
  await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(adminKeys)
      .values({ id: newId('adk'), name: 'bootstrap (TOLLGATE_ADMIN_KEY)', hash: hashKey(key), prefix: key.slice(0, 11), role: 'admin' })
      .onConflictDoNothing()
      .returning();
    if (row) await recordAudit(tx, change, { action: 'admin_key.bootstrap', resourceType: 'admin_key', resourceId: row.id, orgId: null, before: null, after: publicAdminKey(row) });
  });
}

export async function revokeAdminKey(db: Db, change: ChangeContext, id: string): Promise<PublicAdminKey> {
  const [before] = await db.select().from(adminKeys).where(eq(adminKeys.id, id));
  if (!before) throw new GatewayError('not_found', `No admin key ${id}.`);
  return db.transaction(async (tx) => {
    const [row] = await tx.update(adminKeys).set({ revokedAt: before.revokedAt ?? new Date() }).where(eq(adminKeys.id, id)).returning();
    const after = publicAdminKey(row!);
    await recordAudit(tx, change, { action: 'admin_key.revoke', resourceType: 'admin_key', resourceId: id, orgId: null, before: publicAdminKey(before), after });
    return after;
  });
}

export async function listAdminKeys(db: Db): Promise<PublicAdminKey[]> {
  const rows = await db.select().from(adminKeys).orderBy(asc(adminKeys.createdAt));
  return rows.map(publicAdminKey);
}

export interface AdminKeyIdentity {
  id: string;
  role: Role;
  userId: string | null;
}

// Undefined for an unknown, revoked or expired key, or one whose user is deactivated.
export const findAdminKey = (db: Db, key: string, nowMs: number): Promise<AdminKeyIdentity | undefined> => findAdminKeyByHash(db, hashKey(key), nowMs);

// By the stored hash: the console re-checks a signed-in admin key without keeping the key.
export async function findAdminKeyByHash(db: Db, keyHash: string, nowMs: number): Promise<AdminKeyIdentity | undefined> {
  const [row] = await db
    .select({ id: adminKeys.id, role: adminKeys.role, userId: adminKeys.userId, expiresAt: adminKeys.expiresAt, userActive: users.active })
    .from(adminKeys)
    .leftJoin(users, eq(users.id, adminKeys.userId))
    .where(and(eq(adminKeys.hash, keyHash), isNull(adminKeys.revokedAt)));
  if (!row) return undefined;
  if (row.expiresAt && row.expiresAt.getTime() <= nowMs) return undefined;
  if (row.userId && row.userActive !== true) return undefined;
  return { id: row.id, role: row.role as Role, userId: row.userId };
}
