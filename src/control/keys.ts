// Tollgate API keys: created with the plaintext shown once, listed by their public view (never the
// hash), revoked, rotated with a grace period. Every change publishes an invalidation so each
// replica's principal cache applies it within a second.
import { and, asc, count, eq, gt, isNull, or, type SQL } from 'drizzle-orm';
import { apiKeys, users } from '../../drizzle/schema/index.js';
import type { InvalidationBus } from '../auth/invalidation.js';
import { generateKey, newId } from '../auth/keys.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ChangeContext } from './actor.js';
import { recordAudit } from './audit.js';
import { getUser, visibleUsers } from './users.js';
import type { Visibility } from './visibility.js';

type KeyRow = typeof apiKeys.$inferSelect;
export type PublicKey = Omit<KeyRow, 'hash'>;

export const publicKey = ({ hash: _hash, ...rest }: KeyRow): PublicKey => rest;

export async function getKey(db: Db, id: string): Promise<PublicKey> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id));
  if (!row) throw new GatewayError('not_found', `No key ${id}.`);
  return publicKey(row);
}

export interface KeyAttributes {
  name?: string | null | undefined;
  scopes?: string[] | undefined;
  allowedModels?: string[] | null | undefined;
  metadata?: Record<string, string> | undefined;
  expiresAt?: Date | null | undefined;
}

export interface NewKey extends PublicKey {
  // The plaintext key: returned here once and never again.
  key: string;
}

async function insertKey(db: Db, orgId: string, userId: string, attrs: KeyAttributes): Promise<NewKey> {
  const generated = generateKey();
  const [row] = await db
    .insert(apiKeys)
    .values({
      id: newId('key'),
      orgId,
      userId,
      name: attrs.name ?? null,
      hash: generated.hash,
      prefix: generated.prefix,
      scopes: attrs.scopes ?? [],
      allowedModels: attrs.allowedModels ?? null,
      metadata: attrs.metadata ?? {},
      expiresAt: attrs.expiresAt ?? null,
    })
    .returning();
  return { ...publicKey(row!), key: generated.key };
}

// Keys neither revoked nor expired: what a client could call the gateway with right now.
const activeKeys = (nowMs: number) => and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, new Date(nowMs))))!;

export interface KeyLimits {
  // Refuse the key (key_limit_reached) when the user already holds this many active keys.
  maxActiveKeys?: number | undefined;
}

export async function createApiKey(db: Db, bus: InvalidationBus, change: ChangeContext, userId: string, attrs: KeyAttributes, limits: KeyLimits = {}): Promise<NewKey> {
  const user = await getUser(db, userId);
  if (!user.active) throw new GatewayError('conflict', `User ${userId} is deactivated.`);
  const created = await db.transaction(async (tx) => {
    if (limits.maxActiveKeys !== undefined) {
      // The user's row is the lock: concurrent creations for one user count one after another.
      await tx.select({ id: users.id }).from(users).where(eq(users.id, user.id)).for('update');
      const [held] = await tx.select({ n: count() }).from(apiKeys).where(and(eq(apiKeys.userId, user.id), activeKeys(Date.now())));
      if ((held?.n ?? 0) >= limits.maxActiveKeys) {
        throw new GatewayError('key_limit_reached', `User ${userId} already holds ${held?.n} active keys, the most allowed (admin.maxKeysPerUser); revoke one first.`);
      }
    }
    const key = await insertKey(tx, user.orgId, user.id, attrs);
    const { key: _plaintext, ...after } = key;
    await recordAudit(tx, change, { action: 'key.create', resourceType: 'key', resourceId: key.id, orgId: key.orgId, before: null, after });
    return key;
  });
  await bus.publish({ kind: 'key', id: created.id });
  return created;
}

export async function updateApiKey(db: Db, bus: InvalidationBus, change: ChangeContext, id: string, attrs: KeyAttributes): Promise<PublicKey> {
  const before = await getKey(db, id);
  const after = await db.transaction(async (tx) => {
    const [row] = await tx.update(apiKeys).set(attrs).where(eq(apiKeys.id, id)).returning();
    const after = publicKey(row!);
    await recordAudit(tx, change, { action: 'key.update', resourceType: 'key', resourceId: id, orgId: before.orgId, before, after });
    return after;
  });
  await bus.publish({ kind: 'key', id });
  return after;
}

export async function revokeApiKey(db: Db, bus: InvalidationBus, change: ChangeContext, id: string): Promise<PublicKey> {
  const before = await getKey(db, id);
  if (before.revokedAt) return before;
  const after = await db.transaction(async (tx) => {
    const [row] = await tx.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, id)).returning();
    const after = publicKey(row!);
    await recordAudit(tx, change, { action: 'key.revoke', resourceType: 'key', resourceId: id, orgId: before.orgId, before, after });
    return after;
  });
  await bus.publish({ kind: 'key', id });
  return after;
}

// A new key with the same attributes; the old one keeps working for graceMs (never longer than
// it would have anyway), so clients can switch over without an outage.
export async function rotateApiKey(db: Db, bus: InvalidationBus, change: ChangeContext, id: string, graceMs: number): Promise<{ key: NewKey; previous: PublicKey }> {
  const before = await getKey(db, id);
  if (before.revokedAt) throw new GatewayError('conflict', `Key ${id} is revoked and cannot be rotated.`);
  const graceEnd = new Date(Date.now() + graceMs);
  const expiresAt = before.expiresAt && before.expiresAt < graceEnd ? before.expiresAt : graceEnd;
  const result = await db.transaction(async (tx) => {
    const [row] = await tx.update(apiKeys).set({ expiresAt }).where(eq(apiKeys.id, id)).returning();
    const previous = publicKey(row!);
    const key = await insertKey(tx, before.orgId, before.userId, {
      name: before.name,
      scopes: before.scopes,
      allowedModels: before.allowedModels,
      metadata: { ...before.metadata, rotatedFrom: id },
      expiresAt: before.expiresAt,
    });
    const { key: _plaintext, ...created } = key;
    await recordAudit(tx, change, { action: 'key.rotate', resourceType: 'key', resourceId: id, orgId: before.orgId, before, after: { previous, replacement: created } });
    return { key, previous };
  });
  await bus.publish({ kind: 'key', id });
  await bus.publish({ kind: 'key', id: result.key.id });
  return result;
}

export interface KeyQuery {
  userId?: string | undefined;
  orgId?: string | undefined;
  // Only keys neither revoked nor expired.
  active?: boolean | undefined;
  cursor?: string | undefined;
  limit: number;
}

export async function listApiKeys(db: Db, visible: Visibility, q: KeyQuery): Promise<{ data: PublicKey[]; nextCursor: string | null }> {
  const where: SQL[] = visibleUsers(visible);
  if (q.userId) where.push(eq(apiKeys.userId, q.userId));
  if (q.orgId) where.push(eq(apiKeys.orgId, q.orgId));
  if (q.active) where.push(activeKeys(Date.now()));
  if (q.cursor) where.push(gt(apiKeys.id, q.cursor));
  const rows = await db
    .select({ key: apiKeys })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(and(...where))
    .orderBy(asc(apiKeys.id))
    .limit(q.limit + 1);
  const data = rows.slice(0, q.limit).map((r) => publicKey(r.key));
  return { data, nextCursor: rows.length > q.limit ? data.at(-1)!.id : null };
}
