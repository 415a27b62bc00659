// Rate and concurrency limits in Postgres (the `rate_limits` table): requests and tokens per
// minute and requests in flight, for a key, a user, a team or an org. Writes are upserts on
// (org, scope, scope id) and publish {kind:'budgets'}, so every replica reloads them with the
// budget rules (loadBudgetRules) over the config file's `budget.limits`, which stay the defaults.
import { and, asc, eq } from 'drizzle-orm';
import { rateLimits } from '../../drizzle/schema/index.js';
import type { InvalidationBus } from '../auth/invalidation.js';
import { newId } from '../auth/keys.js';
import type { BudgetScope } from '../budget/rules.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ChangeContext } from './actor.js';
import { recordAudit } from './audit.js';
import { resolveScope, type ScopeTarget } from './budgets.js';
import type { Visibility } from './visibility.js';

export type RateLimit = typeof rateLimits.$inferSelect;

export interface LimitInput {
  scope: BudgetScope;
  scopeId: string;
  // null clears the field; undefined keeps what the row had.
  rpm?: number | null | undefined;
  tpm?: number | null | undefined;
  concurrency?: number | null | undefined;
}

const fields = ['rpm', 'tpm', 'concurrency'] as const;

export async function upsertLimit(db: Db, bus: InvalidationBus, change: ChangeContext, orgId: string, input: LimitInput): Promise<RateLimit> {
  const row = await db.transaction(async (tx) => {
    const [before] = await tx.select().from(rateLimits).where(and(eq(rateLimits.orgId, orgId), eq(rateLimits.scope, input.scope), eq(rateLimits.scopeId, input.scopeId)));
    const values = Object.fromEntries(fields.map((f) => [f, input[f] === undefined ? (before?.[f] ?? null) : input[f]])) as Pick<RateLimit, (typeof fields)[number]>;
    if (fields.every((f) => values[f] === null)) throw new GatewayError('invalid_request', 'Set at least one of rpm, tpm, concurrency (DELETE removes a limit).', 'rpm');
    const [after] = before
      ? await tx.update(rateLimits).set({ ...values, updatedAt: new Date() }).where(eq(rateLimits.id, before.id)).returning()
      : await tx.insert(rateLimits).values({ id: newId('lim'), orgId, scope: input.scope, scopeId: input.scopeId, ...values }).returning();
    await recordAudit(tx, change, { action: before ? 'limit.update' : 'limit.create', resourceType: 'limit', resourceId: after!.id, orgId, before: before ?? null, after: after! });
    return after!;
  });
  await bus.publish({ kind: 'budgets' });
  return row;
}

export async function getLimit(db: Db, id: string): Promise<RateLimit> {
  const [row] = await db.select().from(rateLimits).where(eq(rateLimits.id, id));
  if (!row) throw new GatewayError('not_found', `No limit ${id}.`);
  return row;
}

export async function deleteLimit(db: Db, bus: InvalidationBus, change: ChangeContext, id: string): Promise<RateLimit> {
  const before = await getLimit(db, id);
  await db.transaction(async (tx) => {
    await tx.delete(rateLimits).where(eq(rateLimits.id, id));
    await recordAudit(tx, change, { action: 'limit.delete', resourceType: 'limit', resourceId: id, orgId: before.orgId, before, after: null });
  });
  await bus.publish({ kind: 'budgets' });
  return before;
}

// What a limit row is attached to, for the caller's reach.
export const limitTarget = (db: Db, row: RateLimit): Promise<ScopeTarget> => resolveScope(db, row.scope as BudgetScope, row.scopeId, row.orgId);

// Limits a caller may see.
export async function listLimits(db: Db, visible: Visibility, q: { orgId?: string | undefined; scope?: BudgetScope | undefined; scopeId?: string | undefined }): Promise<RateLimit[]> {
  const where = [visible.orgId && eq(rateLimits.orgId, visible.orgId), q.orgId && eq(rateLimits.orgId, q.orgId), q.scope && eq(rateLimits.scope, q.scope), q.scopeId && eq(rateLimits.scopeId, q.scopeId)].filter((c) => !!c);
  const rows = await db.select().from(rateLimits).where(and(...where)).orderBy(asc(rateLimits.scope), asc(rateLimits.scopeId));
  return keepWithinReach(db, visible, rows);
}

// Rows of access rules (limits, IP allow-lists) a caller of limited reach may see. Such rows are
// few (a handful per org), so each row's target is resolved and kept when it falls within the
// caller's teams or is their own; org-wide rows and wildcards are for callers of org-wide reach.
export async function keepWithinReach<T extends { orgId: string; scope: string; scopeId: string }>(db: Db, visible: Visibility, rows: readonly T[]): Promise<T[]> {
  if (!visible.teamIds && !visible.userId) return [...rows];
  const kept: T[] = [];
  for (const row of rows) {
    if (row.scope === 'org' || row.scopeId === '*') continue;
    const target = await resolveScope(db, row.scope as BudgetScope, row.scopeId, row.orgId).catch(() => undefined);
    if (!target) continue;
    const ownUser = visible.userId !== null && target.userId === visible.userId;
    const ofTeam = visible.teamIds !== null && visible.userId === null && target.teamId !== null && visible.teamIds.includes(target.teamId);
    if (ownUser || ofTeam) kept.push(row);
  }
  return kept;
}
