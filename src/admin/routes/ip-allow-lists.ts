// IP allow-lists (src/control/ip-allow-lists.ts): like limits, they bound principals, so who may
// set them follows budgets (org lists need org-wide reach).
import { z } from 'zod';
import { formatCidr, parseCidr } from '../../auth/ip-allow-list.js';
import { resolveScope } from '../../control/budgets.js';
import { deleteIpAllowList, getIpAllowList, ipAllowScopes, listIpAllowLists, putIpAllowList } from '../../control/ip-allow-lists.js';
import { route } from '../route.js';
import { id } from '../schemas.js';

// Stored normalised (`10.1.2.3` is `10.1.2.3/32`), so what is listed is what is matched.
const cidr = z.string().max(64).transform((text, ctx) => {
  const parsed = parseCidr(text);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: 'must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32, or one address' });
    return z.NEVER;
  }
  return formatCidr(parsed);
});

export const ipAllowListRoutes = [
  route({
    method: 'GET', path: '/ip-allow-lists', tag: 'budgets', summary: 'List IP allow-lists of keys and orgs', permission: 'budgets:read',
    query: z.object({ orgId: id.optional() }),
    handle: async ({ db, access, query }) => ({ data: await listIpAllowLists(db, await access.visibility('budgets:read'), query) }),
  }),
  route({
    method: 'PUT', path: '/ip-allow-lists', tag: 'budgets', summary: "Set the CIDRs a key, or every key of an org, may be used from (replaces the scope's list); others get 403 ip_not_allowed",
    permission: 'budgets:write',
    body: z.object({ scope: z.enum(ipAllowScopes), scopeId: id, cidrs: z.array(cidr).min(1).max(256) }),
    async handle({ db, bus, access, change, body }) {
      const target = await resolveScope(db, body.scope, body.scopeId);
      await access.assertBudgetTarget(target);
      return putIpAllowList(db, bus, change, target.orgId, body);
    },
  }),
  route({
    method: 'DELETE', path: '/ip-allow-lists/:id', tag: 'budgets', summary: 'Delete an IP allow-list: the key (or org) may be used from anywhere again', permission: 'budgets:write',
    async handle({ db, bus, access, change, params }) {
      const row = await getIpAllowList(db, params.id!);
      await access.assertBudgetTarget(await resolveScope(db, row.scope as 'key' | 'org', row.scopeId, row.orgId));
      return deleteIpAllowList(db, bus, change, params.id!);
    },
  }),
];
