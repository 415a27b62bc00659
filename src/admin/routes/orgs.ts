import { z } from 'zod';
import { createOrg, getOrg, listOrgs } from '../../control/orgs.js';
import { route } from '../route.js';
import { name } from '../schemas.js';

export const orgRoutes = [
  route({
    method: 'GET', path: '/orgs', tag: 'orgs', summary: 'List orgs', permission: 'orgs:read',
    async handle({ db, access }) {
      return { data: await listOrgs(db, (await access.visibility('orgs:read')).orgId) };
    },
  }),
  route({
    method: 'POST', path: '/orgs', tag: 'orgs', summary: 'Create an org', permission: 'orgs:write', status: 201,
    body: z.object({ name }),
    handle: ({ db, change, body }) => createOrg(db, change, body),
  }),
  route({
    method: 'GET', path: '/orgs/:id', tag: 'orgs', summary: 'Get an org', permission: 'orgs:read',
    async handle({ db, access, params }) {
      await access.assertOrg('orgs:read', params.id!);
      return getOrg(db, params.id!);
    },
  }),
];
