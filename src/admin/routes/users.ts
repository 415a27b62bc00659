import { z } from 'zod';
import { chargebackFields, hasChargeback, setChargeback } from '../../control/chargeback.js';
import { importUsersCsv, createUser, getUser, listUsers, updateUser } from '../../control/users.js';
import type { Role } from '../../control/actor.js';
import { getTeam } from '../../control/teams.js';
import { GatewayError } from '../../errors/catalogue.js';
import { route } from '../route.js';
import { id, keyPolicy, limit, name, patchBody, queryBool, role } from '../schemas.js';

const email = z.email().nullable().optional();

// Nobody hands out the admin role through a user record without being an admin.
const mayGrant = (own: Role, wanted: Role) => wanted !== 'admin' || own === 'admin';
function assertMayGrant(own: Role, wanted: Role | undefined): void {
  if (wanted && !mayGrant(own, wanted)) throw new GatewayError('forbidden', 'Only admins may give a user the admin role.', 'role');
}

export const userRoutes = [
  route({
    method: 'GET', path: '/users', tag: 'users', summary: 'List users, filtered and paginated (cursor = nextCursor of the previous page)', permission: 'users:read',
    query: z.object({ orgId: id.optional(), teamId: id.optional(), role: role.optional(), active: queryBool.optional(), name: z.string().optional(), search: z.string().optional(), cursor: id.optional(), limit }),
    async handle({ db, access, query }) {
      return listUsers(db, await access.visibility('users:read'), query);
    },
  }),
  route({
    method: 'POST', path: '/users', tag: 'users', summary: 'Create a user', permission: 'users:write', status: 201,
    body: z.object({ orgId: id, name, email, teamId: id.nullable().optional(), role: role.optional(), keyPolicy: keyPolicy.nullable().optional() }),
    async handle({ db, access, change, body }) {
      await access.assertUser('users:write', { id: '', orgId: body.orgId, teamId: body.teamId ?? null });
      assertMayGrant(access.actor.role, body.role);
      return createUser(db, change, body);
    },
  }),
  route({
    method: 'POST', path: '/users/import', tag: 'users', summary: 'Import users from CSV (name,email,team,role); one result per row', permission: 'users:write',
    body: z.object({ orgId: id, csv: z.string().max(5_000_000) }),
    async handle({ db, access, change, body }) {
      await access.assertOrg('users:write', body.orgId);
      const scope = await access.visibility('users:write');
      const allowed = (teamId: string | null) => !scope.teamIds || (teamId !== null && scope.teamIds.includes(teamId));
      const results = await importUsersCsv(db, change, body.orgId, body.csv, { allowedTeam: allowed, mayGrant: (wanted) => mayGrant(access.actor.role, wanted) });
      return { created: results.filter((r) => r.status === 'created').length, failed: results.filter((r) => r.status === 'failed').length, results };
    },
  }),
  route({
    method: 'GET', path: '/users/:id', tag: 'users', summary: 'Get a user', permission: 'users:read',
    async handle({ db, access, params }) {
      const user = await getUser(db, params.id!);
      await access.assertUser('users:read', user);
      return user;
    },
  }),
  route({
    method: 'PATCH', path: '/users/:id', tag: 'users', summary: 'Update a user, chargeback metadata included (department, costCenter, labels merged: null removes one)', permission: 'users:write',
    // keyPolicy: the limits on keys the user mints for themselves (src/control/key-policy.ts).
    body: patchBody({ name: name.optional(), email, teamId: id.nullable().optional(), role: role.optional(), keyPolicy: keyPolicy.nullable().optional(), ...chargebackFields }),
    async handle({ db, bus, access, change, params, body }) {
      await access.assertUser('users:write', await getUser(db, params.id!));
      // Moving out of one's team escapes its budgets; lifting one's own key policy or role escapes
      // the limits set for one; re-pointing one's own cost center moves one's spend to someone else's
      // bill: all are for someone above.
      if (body.teamId !== undefined || body.keyPolicy !== undefined || body.role !== undefined || hasChargeback(body)) await access.assertNotSelf('users:write', params.id!);
      if (body.teamId) await access.assertTeam('teams:write', await getTeam(db, body.teamId));
      assertMayGrant(access.actor.role, body.role);
      const { department, costCenter, labels, ...fields } = body;
      const updated = Object.values(fields).some((v) => v !== undefined) ? await updateUser(db, bus, change, params.id!, fields) : undefined;
      return hasChargeback(body) ? setChargeback(db, change, 'user', params.id!, { department, costCenter, labels }) : updated;
    },
  }),
  route({
    method: 'POST', path: '/users/:id/deactivate', tag: 'users', summary: "Deactivate a user: all their keys stop on every replica within a second", permission: 'users:write',
    async handle({ db, bus, access, change, params }) {
      await access.assertUser('users:write', await getUser(db, params.id!));
      return updateUser(db, bus, change, params.id!, { active: false }, 'user.deactivate');
    },
  }),
  route({
    method: 'POST', path: '/users/:id/activate', tag: 'users', summary: 'Reactivate a user', permission: 'users:write',
    async handle({ db, bus, access, change, params }) {
      await access.assertUser('users:write', await getUser(db, params.id!));
      return updateUser(db, bus, change, params.id!, { active: true }, 'user.activate');
    },
  }),
];
