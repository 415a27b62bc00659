import { z } from 'zod';
import { budgetMetrics, budgetScopes, budgetWindows, type BudgetRule, type BudgetScope } from '../../budget/rules.js';
import { isValidTimeZone } from '../../budget/windows.js';
import { deleteBudget, getBudget, listBudgets, resolveScope, upsertBudget } from '../../control/budgets.js';
import { route } from '../route.js';
import { id } from '../schemas.js';

const percent = z.number().int().min(1).max(100);
export const budgetFields = {
  // tokens, integer micro-USD or requests, per the metric.
  limit: z.number().int().nonnegative(),
  warnPct: percent.optional(),
  criticalPct: percent.optional(),
  timezone: z.string().refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Paris').optional(),
  clamp: z.boolean().nullable().optional(),
  // Session window only: refuse requests that send no x-session-id (400 session_required).
  requireSession: z.boolean().optional(),
};

const budgetBody = z
  .object({
    scope: z.enum(budgetScopes),
    scopeId: id,
    metric: z.enum(budgetMetrics),
    window: z.enum(budgetWindows),
    // Only needed for scopeId '*' (the rule applies to every key, user or team of this org).
    orgId: id.optional(),
    ...budgetFields,
  })
  .refine((b) => b.window !== 'session' || b.scope === 'key' || b.scope === 'user', { message: 'window session applies only to scope key or user', path: ['window'] })
  .refine((b) => !b.requireSession || b.window === 'session', { message: 'requireSession applies only to window session', path: ['requireSession'] });

// A change must change something: an empty body is refused as invalid rather than written as a no-op.
const budgetPatch = z
  .object({ ...budgetFields, limit: budgetFields.limit.optional() })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: 'set at least one field to change' });

export const budgetRoutes = [
  route({
    method: 'GET', path: '/budgets', tag: 'budgets', summary: 'List budgets', permission: 'budgets:read',
    query: z.object({ orgId: id.optional(), scope: z.enum(budgetScopes).optional(), scopeId: id.optional() }),
    async handle({ db, access, query }) {
      return { data: await listBudgets(db, await access.visibility('budgets:read'), query) };
    },
  }),
  route({
    method: 'PUT', path: '/budgets', tag: 'budgets', summary: 'Create or update the budget of a scope, metric and window; spend already counted in the window is kept', permission: 'budgets:write',
    body: budgetBody,
    async handle({ db, bus, access, change, body }) {
      const { orgId, ...input } = body;
      const target = await resolveScope(db, input.scope, input.scopeId, orgId);
      await access.assertBudgetTarget(target);
      return upsertBudget(db, bus, change, target.orgId, input);
    },
  }),
  route({
    method: 'GET', path: '/budgets/:id', tag: 'budgets', summary: 'Get a budget', permission: 'budgets:read',
    async handle({ db, access, params }) {
      const budget = await getBudget(db, params.id!);
      await access.assertTarget('budgets:read', await resolveScope(db, budget.scope as BudgetScope, budget.scopeId, budget.orgId));
      return budget;
    },
  }),
  route({
    method: 'PATCH', path: '/budgets/:id', tag: 'budgets', summary: "Change a budget's limit, thresholds, time zone or clamp", permission: 'budgets:write',
    body: budgetPatch,
    async handle({ db, bus, access, change, params, body }) {
      const budget = await getBudget(db, params.id!);
      await access.assertBudgetTarget(await resolveScope(db, budget.scope as BudgetScope, budget.scopeId, budget.orgId));
      const { scope, scopeId, metric, window } = budget as BudgetRule;
      return upsertBudget(db, bus, change, budget.orgId, { scope, scopeId, metric, window, ...body, limit: body.limit ?? budget.limit });
    },
  }),
  route({
    method: 'DELETE', path: '/budgets/:id', tag: 'budgets', summary: 'Delete a budget', permission: 'budgets:write',
    async handle({ db, bus, access, change, params }) {
      const budget = await getBudget(db, params.id!);
      await access.assertBudgetTarget(await resolveScope(db, budget.scope as BudgetScope, budget.scopeId, budget.orgId));
      return deleteBudget(db, bus, change, params.id!);
    },
  }),
];
