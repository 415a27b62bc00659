import { z } from 'zod';
import { chargebackFields, hasChargeback, setChargeback } from '../../control/chargeback.js';
import { createTeam, getTeam, listTeams, updateTeam } from '../../control/teams.js';
import { getUser, listUsers, updateUser } from '../../control/users.js';
import { route } from '../route.js';
import type { Access } from '../access.js';
import type { Db } from '../../db/database.js';
import { GatewayError } from '../../errors/catalogue.js';
import { reachOf } from '../rbac.js';
import { id, name, patchBody } from '../schemas.js';

// A role of limited reach does not set what its own team is charged to.
export async function assertNotOwnTeam(db: Db, access: Access, teamId: string): Promise<void> {
  if (reachOf(access.actor.role, 'teams:write') === 'all' || !access.actor.userId) return;
  const own = await getUser(db, access.actor.userId).catch(() => undefined);
  if (own?.teamId === teamId) throw new GatewayError('forbidden', "Your own team's chargeback metadata is set by someone above you.");
}

export const teamRoutes = [
  route({
    method: 'GET', path: '/teams', tag: 'teams', summary: 'List teams', permission: 'teams:read',
    query: z.object({ orgId: id.optional(), parentId: id.optional(), name: z.string().optional() }),
    async handle({ db, access, query }) {
      return { data: await listTeams(db, await access.visibility('teams:read'), query) };
    },
  }),
  route({
    method: 'POST', path: '/teams', tag: 'teams', summary: 'Create a team (nested under parentId when given)', permission: 'teams:write', status: 201,
    body: z.object({ orgId: id, name, parentId: id.nullable().optional() }),
    async handle({ db, access, change, body }) {
      // Managers create teams below their own; only org-wide reach creates a top-level team.
      if (body.parentId) await access.assertTeam('teams:write', await getTeam(db, body.parentId));
      else await access.assertTarget('teams:write', { orgId: body.orgId, teamId: null, userId: null });
      return createTeam(db, change, body);
    },
  }),
  route({
    method: 'GET', path: '/teams/:id', tag: 'teams', summary: 'Get a team', permission: 'teams:read',
    async handle({ db, access, params }) {
      const team = await getTeam(db, params.id!);
      await access.assertTeam('teams:read', team);
      return team;
    },
  }),
  route({
    method: 'PATCH', path: '/teams/:id', tag: 'teams', summary: 'Rename or move a team, or set its chargeback metadata (department, costCenter, labels merged: null removes one)', permission: 'teams:write',
    body: patchBody({ name: name.optional(), parentId: id.nullable().optional(), ...chargebackFields }),
    async handle({ db, bus, access, change, params, body }) {
      const team = await getTeam(db, params.id!);
      if (body.parentId === undefined) await access.assertTeam('teams:write', team);
      else await access.assertTeamMove(team, body.parentId === null ? null : await getTeam(db, body.parentId));
      // Who pays for one's own team is decided above it, as its budgets are.
      if (hasChargeback(body)) await assertNotOwnTeam(db, access, team.id);
      const { department, costCenter, labels, ...fields } = body;
      const updated = fields.name !== undefined || fields.parentId !== undefined ? await updateTeam(db, bus, change, params.id!, fields) : undefined;
      return hasChargeback(body) ? setChargeback(db, change, 'team', params.id!, { department, costCenter, labels }) : updated;
    },
  }),
  route({
    method: 'GET', path: '/teams/:id/members', tag: 'teams', summary: "List the team's members", permission: 'teams:read',
    async handle({ db, access, params }) {
      const team = await getTeam(db, params.id!);
      await access.assertTeam('teams:read', team);
      return listUsers(db, await access.visibility('users:read'), { teamId: team.id, limit: 1000 });
    },
  }),
  route({
    method: 'PUT', path: '/teams/:id/members/:userId', tag: 'teams', summary: 'Make a user a member of the team (their budgets are charged to it)', permission: 'teams:write',
    async handle({ db, bus, access, change, params }) {
      const team = await getTeam(db, params.id!);
      await access.assertTeam('teams:write', team);
      await access.assertUser('users:write', await getUser(db, params.userId!));
      // Changing one's own team would change which team budgets bound oneself.
      await access.assertNotSelf('teams:write', params.userId!);
      return updateUser(db, bus, change, params.userId!, { teamId: team.id }, 'team.member_add');
    },
  }),
  route({
    method: 'DELETE', path: '/teams/:id/members/:userId', tag: 'teams', summary: 'Remove a user from the team', permission: 'teams:write',
    async handle({ db, bus, access, change, params }) {
      await access.assertTeam('teams:write', await getTeam(db, params.id!));
      const user = await getUser(db, params.userId!);
      await access.assertUser('users:write', user);
      await access.assertNotSelf('teams:write', user.id);
      if (user.teamId !== params.id) return user;
      return updateUser(db, bus, change, user.id, { teamId: null }, 'team.member_remove');
    },
  }),
];
