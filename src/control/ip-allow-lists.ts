// IP allow-lists in Postgres (`ip_allow_lists`): CIDRs a key, or every key of an org, may be used
// from. One row per (org, scope, scope id), replaced whole on write. Every change publishes
// {kind:'budgets'} (access rules changed), on which each replica reloads the lists.
import { and, asc, eq } from 'drizzle-orm';
import { ipAllowLists } from '../../drizzle/schema/index.js';
import type { InvalidationBus } from '../auth/invalidation.js';
import { newId } from '../auth/keys.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ChangeContext } from './actor.js';
import { recordAudit } from './audit.js';
import { keepWithinReach } from './limits.js';
import type { Visibility } from './visibility.js';

export type IpAllowList = typeof ipAllowLists.$inferSelect;
export const ipAllowScopes = ['key', 'org'] as const;

export async function putIpAllowList(db: Db, bus: InvalidationBus, change: ChangeContext, orgId: string, input: { scope: (typeof ipAllowScopes)[number]; scopeId: string; cidrs: string[] }): Promise<IpAllowList> {
  const row = await db.transaction(async (tx) => {
    const [before] = await tx.select().from(ipAllowLists).where(and(eq(ipAllowLists.orgId, orgId), eq(ipAllowLists.scope, input.scope), eq(ipAllowLists.scopeId, input.scopeId)));
    const [after] = before
      ? await tx.update(ipAllowLists).set({ cidrs: input.cidrs, updatedAt: new Date() }).where(eq(ipAllowLists.id, before.id)).returning()
      : await tx.insert(ipAllowLists).values({ id: newId('ipl'), orgId, ...input }).returning();
    await recordAudit(tx, change, { action: before ? 'ip_allow_list.update' : 'ip_allow_list.create', resourceType: 'ip_allow_list', resourceId: after!.id, orgId, before: before ?? null, after: after! });
    return after!;
  });
  await bus.publish({ kind: 'budgets' });
  return row;
}

export async function getIpAllowList(db: Db, id: string): Promise<IpAllowList> {
  const [row] = await db.select().from(ipAllowLists).where(eq(ipAllowLists.id, id));
  if (!row) throw new GatewayError('not_found', `No IP allow-list ${id}.`);
  return row;
}

export async function deleteIpAllowList(db: Db, bus: InvalidationBus, change: ChangeContext, id: string): Promise<IpAllowList> {
  const before = await getIpAllowList(db, id);
  await db.transaction(async (tx) => {
    await tx.delete(ipAllowLists).where(eq(ipAllowLists.id, id));
    await recordAudit(tx, change, { action: 'ip_allow_list.delete', resourceType: 'ip_allow_list', resourceId: id, orgId: before.orgId, before, after: null });
  });
  await bus.publish({ kind: 'budgets' });
  return before;
}

export async function listIpAllowLists(db: Db, visible: Visibility, q: { orgId?: string | undefined } = {}): Promise<IpAllowList[]> {
  const where = [visible.orgId && eq(ipAllowLists.orgId, visible.orgId), q.orgId && eq(ipAllowLists.orgId, q.orgId)].filter((c) => !!c);
  return keepWithinReach(db, visible, await db.select().from(ipAllowLists).where(and(...where)).orderBy(asc(ipAllowLists.scope), asc(ipAllowLists.scopeId)));
}

// Every list, for the replicas' compiled policy.
export const loadIpAllowLists = (db: Db): Promise<IpAllowList[]> => db.select().from(ipAllowLists);
