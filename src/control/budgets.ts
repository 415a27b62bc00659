// Budget rules in Postgres (the budget engine's `budgets` and `rate_limits` tables). Writes are
// upserts on (org, scope, scope id, metric, window): the Redis counters are keyed by those same
// fields and never by the row, so changing a limit keeps the spend already counted in the
// current window. Every change publishes {kind:'budgets'}; each replica then reloads the rules
// with loadBudgetRules.
import { and, asc, eq, inArray, or, type SQL } from 'drizzle-orm';
import { apiKeys, budgets, orgs, rateLimits, teams, users } from '../../drizzle/schema/index.js';
import type { InvalidationBus } from '../auth/invalidation.js';
import { newId } from '../auth/keys.js';
import type { BudgetMetric, BudgetRule, BudgetScope, BudgetWindow, LimitRule } from '../budget/rules.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ChangeContext } from './actor.js';
import { recordAudit } from './audit.js';
import type { Visibility } from './visibility.js';

export type Budget = typeof budgets.$inferSelect;

// Every rule keeps its org: the compiled plan applies a row only to principals of that org.
export async function loadBudgetRules(db: Db): Promise<{ budgets: BudgetRule[]; limits: LimitRule[] }> {
  const [budgetRows, limitRows] = await Promise.all([db.select().from(budgets), db.select().from(rateLimits)]);
  return {
    budgets: budgetRows.map((b) => ({
      orgId: b.orgId,
      scope: b.scope as BudgetScope,
      scopeId: b.scopeId,
      metric: b.metric as BudgetMetric,
      window: b.window as BudgetWindow,
      limit: b.limit,
      warnPct: b.warnPct,
      criticalPct: b.criticalPct,
      timezone: b.timezone,
      ...(b.clamp === null ? {} : { clamp: b.clamp }),
      ...(b.requireSession ? { requireSession: true } : {}),
    })),
    limits: limitRows.map((l) => ({
      orgId: l.orgId,
      scope: l.scope as LimitRule['scope'],
      scopeId: l.scopeId,
      ...(l.rpm === null ? {} : { rpm: l.rpm }),
      ...(l.tpm === null ? {} : { tpm: l.tpm }),
      ...(l.concurrency === null ? {} : { concurrency: l.concurrency }),
    })),
  };
}

// What a budget is attached to, resolved to the org and the team that own it: the admin API
// checks a caller's reach against these.
export interface ScopeTarget {
  orgId: string;
  // The user's team for key and user scopes, the team itself for team scope; null for org scope.
  teamId: string | null;
  userId: string | null;
}

// The org of a budget comes from what it names; a given orgId (required for '*') must agree, so a
// rule of one org can never name an id of another.
export async function resolveScope(db: Db, scope: BudgetScope, scopeId: string, orgId?: string): Promise<ScopeTarget> {
  const target = await findTarget(db, scope, scopeId, orgId);
  if (orgId !== undefined && orgId !== target.orgId) throw new GatewayError('invalid_request', `${scope} ${scopeId} is not part of org ${orgId}.`, 'scopeId');
  return target;
}

async function findTarget(db: Db, scope: BudgetScope, scopeId: string, orgIdForWildcard: string | undefined): Promise<ScopeTarget> {
  const missing = (what = `${scope} ${scopeId}`) => new GatewayError('not_found', `No ${what}.`, 'scopeId');
  if (scopeId === '*' || scope === 'org') {
    const orgId = scopeId === '*' ? orgIdForWildcard : scopeId;
    if (!orgId) throw new GatewayError('invalid_request', 'A budget for every member of a scope (scopeId "*") needs orgId.', 'orgId');
    const [org] = await db.select({ id: orgs.id }).from(orgs).where(eq(orgs.id, orgId));
    if (!org) throw missing(`org ${orgId}`);
    return { orgId, teamId: null, userId: null };
  }
  if (scope === 'team') {
    const [t] = await db.select({ orgId: teams.orgId }).from(teams).where(eq(teams.id, scopeId));
    if (!t) throw missing();
    return { orgId: t.orgId, teamId: scopeId, userId: null };
  }
  const [row] =
    scope === 'user'
      ? await db.select({ orgId: users.orgId, teamId: users.teamId, userId: users.id }).from(users).where(eq(users.id, scopeId))
      : await db.select({ orgId: users.orgId, teamId: users.teamId, userId: users.id }).from(apiKeys).innerJoin(users, eq(users.id, apiKeys.userId)).where(eq(apiKeys.id, scopeId));
  if (!row) throw missing();
  return row;
}

export interface BudgetInput {
  scope: BudgetScope;
  scopeId: string;
  metric: BudgetMetric;
  window: BudgetWindow;
  limit: number;
  warnPct?: number | undefined;
  criticalPct?: number | undefined;
  timezone?: string | undefined;
  clamp?: boolean | null | undefined;
  requireSession?: boolean | undefined;
}

// Insert or update the rule for (org, scope, scopeId, metric, window) inside the caller's
// transaction; returns the row and what it replaced.
export async function upsertBudgetIn(tx: Db, change: ChangeContext, orgId: string, input: BudgetInput): Promise<Budget> {
  const [before] = await tx
    .select()
    .from(budgets)
    .where(and(eq(budgets.orgId, orgId), eq(budgets.scope, input.scope), eq(budgets.scopeId, input.scopeId), eq(budgets.metric, input.metric), eq(budgets.window, input.window)));
  const values = {
    limit: input.limit,
    warnPct: input.warnPct ?? before?.warnPct ?? 80,
    criticalPct: input.criticalPct ?? before?.criticalPct ?? 95,
    timezone: input.timezone ?? before?.timezone ?? 'UTC',
    clamp: input.clamp === undefined ? (before?.clamp ?? null) : input.clamp,
    requireSession: input.requireSession ?? before?.requireSession ?? false,
  };
  if (values.warnPct > values.criticalPct) throw new GatewayError('invalid_request', 'warnPct must not exceed criticalPct.', 'warnPct');
  if (values.requireSession && input.window !== 'session') throw new GatewayError('invalid_request', 'requireSession applies only to window session.', 'requireSession');
  const [after] = before
    ? await tx.update(budgets).set({ ...values, updatedAt: new Date() }).where(eq(budgets.id, before.id)).returning()
    : await tx.insert(budgets).values({ id: newId('bgt'), orgId, scope: input.scope, scopeId: input.scopeId, metric: input.metric, window: input.window, ...values }).returning();
  await recordAudit(tx, change, { action: before ? 'budget.update' : 'budget.create', resourceType: 'budget', resourceId: after!.id, orgId, before: before ?? null, after: after! });
  return after!;
}

export async function upsertBudget(db: Db, bus: InvalidationBus, change: ChangeContext, orgId: string, input: BudgetInput): Promise<Budget> {
  const row = await db.transaction((tx) => upsertBudgetIn(tx, change, orgId, input));
  await bus.publish({ kind: 'budgets' });
  return row;
}

export async function getBudget(db: Db, id: string): Promise<Budget> {
  const [row] = await db.select().from(budgets).where(eq(budgets.id, id));
  if (!row) throw new GatewayError('not_found', `No budget ${id}.`);
  return row;
}

export async function deleteBudget(db: Db, bus: InvalidationBus, change: ChangeContext, id: string): Promise<Budget> {
  const before = await getBudget(db, id);
  await db.transaction(async (tx) => {
    await tx.delete(budgets).where(eq(budgets.id, id));
    await recordAudit(tx, change, { action: 'budget.delete', resourceType: 'budget', resourceId: id, orgId: before.orgId, before, after: null });
  });
  await bus.publish({ kind: 'budgets' });
  return before;
}

export interface BudgetQuery {
  orgId?: string | undefined;
  scope?: BudgetScope | undefined;
  scopeId?: string | undefined;
}

// Budgets a caller may see: with a team or user restriction, those attached to the visible teams,
// users and their keys.
export async function listBudgets(db: Db, visible: Visibility, q: BudgetQuery): Promise<Budget[]> {
  const where: SQL[] = [];
  if (visible.orgId) where.push(eq(budgets.orgId, visible.orgId));
  if (q.orgId) where.push(eq(budgets.orgId, q.orgId));
  if (q.scope) where.push(eq(budgets.scope, q.scope));
  if (q.scopeId) where.push(eq(budgets.scopeId, q.scopeId));
  if (visible.teamIds || visible.userId) {
    const userWhere: SQL[] = [];
    if (visible.teamIds) userWhere.push(inArray(users.teamId, visible.teamIds.length > 0 ? [...visible.teamIds] : ['']));
    if (visible.userId) userWhere.push(eq(users.id, visible.userId));
    const userIds = (await db.select({ id: users.id }).from(users).where(and(...userWhere))).map((u) => u.id);
    const keyIds = userIds.length > 0 ? (await db.select({ id: apiKeys.id }).from(apiKeys).where(inArray(apiKeys.userId, userIds))).map((k) => k.id) : [];
    const reach: SQL[] = [and(eq(budgets.scope, 'user'), inArray(budgets.scopeId, ['', ...userIds]))!, and(eq(budgets.scope, 'key'), inArray(budgets.scopeId, ['', ...keyIds]))!];
    if (visible.teamIds && !visible.userId) reach.push(and(eq(budgets.scope, 'team'), inArray(budgets.scopeId, ['', ...visible.teamIds]))!);
    where.push(or(...reach)!);
  }
  return db.select().from(budgets).where(and(...where)).orderBy(asc(budgets.scope), asc(budgets.scopeId), asc(budgets.metric), asc(budgets.window));
}
