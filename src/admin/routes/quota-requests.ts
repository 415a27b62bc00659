import { z } from 'zod';
import { decideQuotaRequest, getQuotaRequest, listQuotaRequests, submitQuotaRequest } from '../../control/quota-requests.js';
import { getUser } from '../../control/users.js';
import { GatewayError } from '../../errors/catalogue.js';
import { route } from '../route.js';
import { id } from '../schemas.js';

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
      const request = await getQuotaRequest(db, params.id!);
      await access.assertUser('quota:decide', await getUser(db, request.userId));
      return decideQuotaRequest(db, bus, change, params.id!, { approve: true });
    },
  }),
  route({
    method: 'POST', path: '/quota-requests/:id/deny', tag: 'quota requests', summary: 'Deny with a reason', permission: 'quota:decide',
    body: z.object({ reason: z.string().trim().min(1).max(2000) }),
    async handle({ db, bus, access, change, params, body }) {
      const request = await getQuotaRequest(db, params.id!);
      await access.assertUser('quota:decide', await getUser(db, request.userId));
      return decideQuotaRequest(db, bus, change, params.id!, { approve: false, reason: body.reason });
    },
  }),
];
