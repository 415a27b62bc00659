// Rate and concurrency limits (src/control/limits.ts): who may set them follows budgets, since a
// limit bounds the same principals a budget does.
import { z } from 'zod';
import { budgetScopes } from '../../budget/rules.js';
import { resolveScope } from '../../control/budgets.js';
import { deleteLimit, getLimit, limitTarget, listLimits, upsertLimit } from '../../control/limits.js';
import { route } from '../route.js';
import { id } from '../schemas.js';

// null clears one field of an existing limit; omitted keeps it.
const perMinute = z.number().int().positive().nullable().optional();

export const limitRoutes = [
  route({
    method: 'GET', path: '/limits', tag: 'budgets', summary: 'List rate limits (rpm, tpm) and concurrency limits stored for keys, users, teams and orgs', permission: 'budgets:read',
    query: z.object({ orgId: id.optional(), scope: z.enum(budgetScopes).optional(), scopeId: z.string().min(1).optional() }),
    async handle({ db, access, query }) {
      return { data: await listLimits(db, await access.visibility('budgets:read'), query) };
    },
  }),
  route({
    method: 'PUT', path: '/limits', tag: 'budgets', summary: "Set a scope's requests per minute, tokens per minute and requests in flight (over the config file's limits); every replica applies it within a second",
    permission: 'budgets:write',
    body: z
      .object({ scope: z.enum(budgetScopes), scopeId: z.string().min(1), orgId: id.optional(), rpm: perMinute, tpm: perMinute, concurrency: perMinute })
      .refine((b) => b.rpm !== undefined || b.tpm !== undefined || b.concurrency !== undefined, { message: 'set at least one of rpm, tpm, concurrency', path: ['rpm'] }),
    async handle({ db, bus, access, change, body }) {
      const target = await resolveScope(db, body.scope, body.scopeId, body.orgId);
      await access.assertBudgetTarget(target);
      return upsertLimit(db, bus, change, target.orgId, body);
    },
  }),
  route({
    method: 'DELETE', path: '/limits/:id', tag: 'budgets', summary: "Delete a stored limit: the config file's limits apply again", permission: 'budgets:write',
    async handle({ db, bus, access, change, params }) {
      await access.assertBudgetTarget(await limitTarget(db, await getLimit(db, params.id!)));
      return deleteLimit(db, bus, change, params.id!);
    },
  }),
];
