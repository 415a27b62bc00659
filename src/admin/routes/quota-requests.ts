import { z } from 'zod';
import type { BudgetScope } from '../../budget/rules.js';
import { getBudget, resolveScope } from '../../control/budgets.js';
import type { Db } from '../../db/database.js';
import { decideQuotaRequest, getQuotaRequest, listQuotaRequests, submitQuotaRequest } from '../../control/quota-requests.js';
import { getUser } from '../../control/users.js';
import { GatewayError } from '../../errors/catalogue.js';
import type { Access } from '../access.js';
import { route } from '../route.js';
import { id } from '../schemas.js';

// Deciding is setting the budget by other means: it needs the right to set that budget directly
// (so no one raises an org-wide, '*' or parent-team budget through a request), and nobody, admins
// included, decides their own request.
async function assertMayDecide(db: Db, access: Access, id: string): Promise<void> {
  const request = await getQuotaRequest(db, id);
  if (request.userId === access.actor.userId) throw new GatewayError('forbidden', 'Nobody decides their own quota request.');
  await access.assertUser('quota:decide', await getUser(db, request.userId));
  const budget = await getBudget(db, request.budgetId);
  await access.assertBudgetTarget(await resolveScope(db, budget.scope as BudgetScope, budget.scopeId, budget.orgId));
}

export const quotaRoutes = [
  route({
    method: 'GET', path: '/quota-requests', tag: 'quota requests', summary: 'List quota increase requests, newest first', permission: 'quota:read',
    query: z.object({ status: z.enum(['pending', 'approved', 'denied']).optional(), userId: id.optional() }),
    async handle({ db, access, query }) {
      return { data: await listQuotaRequests(db, await access.visibility('quota:read'), query) };
    },
  }),
  route({
    method: 'POST', path: '/quota-requests', tag: 'quota requests', summary: 'Ask for more on a budget that applies to you (admins may file for userId)', permission: 'quota:submit', status: 201,
    body: z.object({ budgetId: id, amount: z.number().int().positive(), justification: z.string().trim().min(1).max(2000), userId: id.optional() }),
    async handle({ db, access, change, body }) {
      const userId = body.userId ?? access.actor.userId;
      if (!userId) throw new GatewayError('invalid_request', 'Your credential does not act as a user: pass userId.', 'userId');
      await access.assertUser('quota:submit', await getUser(db, userId));
      return submitQuotaRequest(db, change, { userId, budgetId: body.budgetId, amount: body.amount, justification: body.justification });
    },
  }),
  route({
    method: 'GET', path: '/quota-requests/:id', tag: 'quota requests', summary: 'Get a quota increase request', permission: 'quota:read',
    async handle({ db, access, params }) {
      const request = await getQuotaRequest(db, params.id!);
      await access.assertUser('quota:read', await getUser(db, request.userId));
      return request;
    },
  }),
  route({
    method: 'POST', path: '/quota-requests/:id/approve', tag: 'quota requests', summary: "Approve: the budget's limit grows by the amount", permission: 'quota:decide',
    async handle({ db, bus, access, change, params }) {
      await assertMayDecide(db, access, params.id!);
      return decideQuotaRequest(db, bus, change, params.id!, { approve: true });
    },
  }),
  route({
    method: 'POST', path: '/quota-requests/:id/deny', tag: 'quota requests', summary: 'Deny with a reason', permission: 'quota:decide',
    body: z.object({ reason: z.string().trim().min(1).max(2000) }),
    async handle({ db, bus, access, change, params, body }) {
      await assertMayDecide(db, access, params.id!);
      return decideQuotaRequest(db, bus, change, params.id!, { approve: false, reason: body.reason });
    },
  }),
];
