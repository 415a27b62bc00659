// Quota increase requests: a user asks for more on a budget that applies to them; someone who may
// set that budget directly, other than the requester, approves (the budget's limit grows by the
// amount, in the same transaction) or denies with a reason (src/admin/routes/quota-requests.ts
// checks who). Rows are never deleted, so the history stays.
import { and, desc, eq, inArray, type SQL } from 'drizzle-orm';
import { apiKeys, budgets, quotaRequests, users } from '../../drizzle/schema/index.js';
import type { InvalidationBus } from '../auth/invalidation.js';
import { newId } from '../auth/keys.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ChangeContext } from './actor.js';
import { recordAudit } from './audit.js';
import { getBudget } from './budgets.js';
import { loadTeamChain } from './team-chain.js';
import { getUser } from './users.js';
import type { Visibility } from './visibility.js';

export type QuotaRequest = typeof quotaRequests.$inferSelect;

// A budget applies to a user when it is theirs, one of their keys', their team's (or a team
// above it), their org's, or a '*' rule of any of those scopes.
async function appliesTo(db: Db, budgetId: string, userId: string): Promise<boolean> {
  const budget = await getBudget(db, budgetId);
  const user = await getUser(db, userId);
  if (budget.orgId !== user.orgId) return false;
  if (budget.scopeId === '*') return true;
  if (budget.scope === 'org') return true;
  if (budget.scope === 'user') return budget.scopeId === userId;
  if (budget.scope === 'key') {
    const [key] = await db.select({ userId: apiKeys.userId }).from(apiKeys).where(eq(apiKeys.id, budget.scopeId));
    return key?.userId === userId;
  }
  return (await loadTeamChain(db, user.teamId)).includes(budget.scopeId);
}

export async function submitQuotaRequest(db: Db, change: ChangeContext, input: { userId: string; budgetId: string; amount: number; justification: string }): Promise<QuotaRequest> {
  if (!(await appliesTo(db, input.budgetId, input.userId))) throw new GatewayError('invalid_request', 'That budget does not apply to the requesting user.', 'budgetId');
  const user = await getUser(db, input.userId);
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(quotaRequests).values({ id: newId('qr'), orgId: user.orgId, ...input }).returning();
    await recordAudit(tx, change, { action: 'quota_request.submit', resourceType: 'quota_request', resourceId: row!.id, orgId: row!.orgId, before: null, after: row! });
    return row!;
  });
}

export async function getQuotaRequest(db: Db, id: string): Promise<QuotaRequest> {
  const [row] = await db.select().from(quotaRequests).where(eq(quotaRequests.id, id));
  if (!row) throw new GatewayError('not_found', `No quota request ${id}.`);
  return row;
}

export async function decideQuotaRequest(
  db: Db,
  bus: InvalidationBus,
  change: ChangeContext,
  id: string,
  decision: { approve: true } | { approve: false; reason: string },
): Promise<QuotaRequest> {
  const result = await db.transaction(async (tx) => {
    // Row lock: two deciders racing cannot both apply the increase.
    const [before] = await tx.select().from(quotaRequests).where(eq(quotaRequests.id, id)).for('update');
    if (!before) throw new GatewayError('not_found', `No quota request ${id}.`);
    if (before.status !== 'pending') throw new GatewayError('conflict', `Quota request ${id} is already ${before.status}.`);
    const status = decision.approve ? 'approved' : 'denied';
    const [after] = await tx
      .update(quotaRequests)
      .set({ status, decidedBy: change.actor.id, decidedAt: new Date(), reason: decision.approve ? null : decision.reason })
      .where(eq(quotaRequests.id, id))
      .returning();
    await recordAudit(tx, change, { action: `quota_request.${decision.approve ? 'approve' : 'deny'}`, resourceType: 'quota_request', resourceId: id, orgId: before.orgId, before, after: after! });
    if (decision.approve) {
      const [budgetBefore] = await tx.select().from(budgets).where(eq(budgets.id, before.budgetId)).for('update');
      if (!budgetBefore) throw new GatewayError('conflict', `The budget of quota request ${id} no longer exists.`);
      const [budgetAfter] = await tx
        .update(budgets)
        .set({ limit: budgetBefore.limit + before.amount, updatedAt: new Date() })
        .where(eq(budgets.id, before.budgetId))
        .returning();
      await recordAudit(tx, change, { action: 'budget.update', resourceType: 'budget', resourceId: before.budgetId, orgId: before.orgId, before: budgetBefore, after: budgetAfter! });
    }
    return after!;
  });
  if (decision.approve) await bus.publish({ kind: 'budgets' });
  return result;
}

export async function listQuotaRequests(db: Db, visible: Visibility, q: { status?: string | undefined; userId?: string | undefined }): Promise<QuotaRequest[]> {
  const where: SQL[] = [];
  if (visible.orgId) where.push(eq(quotaRequests.orgId, visible.orgId));
  if (visible.userId) where.push(eq(quotaRequests.userId, visible.userId));
  if (visible.teamIds) {
    const ids = (await db.select({ id: users.id }).from(users).where(inArray(users.teamId, ['', ...visible.teamIds]))).map((u) => u.id);
    where.push(inArray(quotaRequests.userId, ['', ...ids]));
  }
  if (q.status) where.push(eq(quotaRequests.status, q.status));
  if (q.userId) where.push(eq(quotaRequests.userId, q.userId));
  return db.select().from(quotaRequests).where(and(...where)).orderBy(desc(quotaRequests.createdAt));
}
