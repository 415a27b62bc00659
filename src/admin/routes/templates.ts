import { z } from 'zod';
import { resolveScope } from '../../control/budgets.js';
import { applyTemplate, deleteTemplate, getTemplate, listTemplates, putTemplate } from '../../control/templates.js';
import { route } from '../route.js';
import { parseInput } from '../router.js';
import { id } from '../schemas.js';

const percent = z.number().int().min(1).max(100);
const templateName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be snake_case');

export const templateRoutes = [
  route({
    method: 'GET', path: '/budget-templates', tag: 'budget templates', summary: 'List budget templates (built-in and custom)', permission: 'templates:read',
    handle: async ({ db }) => ({ data: await listTemplates(db) }),
  }),
  route({
    method: 'GET', path: '/budget-templates/:name', tag: 'budget templates', summary: 'Get a budget template', permission: 'templates:read',
    handle: ({ db, params }) => getTemplate(db, params.name!),
  }),
  route({
    method: 'PUT', path: '/budget-templates/:name', tag: 'budget templates', summary: 'Create or replace a custom budget template', permission: 'templates:write',
    body: z
      .object({
        description: z.string().max(500).default(''),
        rules: z.array(z.object({ metric: z.enum(['tokens', 'costMicros', 'requests']), window: z.enum(['minute', 'hour', 'day', 'month', 'total']), limit: z.number().int().nonnegative() })).min(1).max(20),
        warnPct: percent.default(80),
        criticalPct: percent.default(95),
      })
      .refine((t) => t.warnPct <= t.criticalPct, { message: 'warnPct must not exceed criticalPct', path: ['warnPct'] }),
    async handle({ db, change, params, body }) {
      parseInput(templateName, params.name, 'path');
      return putTemplate(db, change, { name: params.name!, ...body });
    },
  }),
  route({
    method: 'DELETE', path: '/budget-templates/:name', tag: 'budget templates', summary: 'Delete a custom budget template (budgets made from it stay)', permission: 'templates:write',
    async handle({ db, change, params }) {
      await deleteTemplate(db, change, params.name!);
      return { deleted: params.name };
    },
  }),
  route({
    method: 'POST', path: '/budget-templates/:name/apply', tag: 'budget templates', summary: "Apply a template to a user or a team (the team's shared budget); idempotent", permission: 'budgets:write',
    body: z.object({ scope: z.enum(['user', 'team']), scopeId: id }),
    async handle({ db, bus, access, change, params, body }) {
      const target = await resolveScope(db, body.scope, body.scopeId);
      await access.assertBudgetTarget(target);
      return { data: await applyTemplate(db, bus, change, params.name!, { ...body, orgId: target.orgId }) };
    },
  }),
];
