// One request's view of RBAC: turns the actor's reach for a permission into a Visibility for
// lists and into checks on single resources. The managed team set is loaded once per request.
import type { Actor } from '../control/actor.js';
import type { ScopeTarget } from '../control/budgets.js';
import { teamSubtree } from '../control/teams.js';
import { getUser } from '../control/users.js';
import { everything, type Visibility } from '../control/visibility.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import { type Permission, reachOf } from './rbac.js';

export interface Access {
  readonly actor: Actor;
  visibility(permission: Permission): Promise<Visibility>;
  // Each throws forbidden when the resource is outside the actor's reach for the permission.
  assertOrg(permission: Permission, orgId: string): Promise<void>;
  assertTeam(permission: Permission, team: { id: string; orgId: string }): Promise<void>;
  assertUser(permission: Permission, user: { id: string; orgId: string; teamId: string | null }): Promise<void>;
  assertTarget(permission: Permission, target: ScopeTarget): Promise<void>;
}

const outOfReach = (what: string) => new GatewayError('forbidden', `${what} is outside what your role may manage.`);

export function createAccess(db: Db, actor: Actor): Access {
  let home: Promise<{ orgId: string | null; teamIds: string[] }> | undefined;
  // The org and (for managers) team subtree the actor acts within, from their user.
  const loadHome = () =>
    (home ??= (async () => {
      if (!actor.userId) return { orgId: null, teamIds: [] };
      const user = await getUser(db, actor.userId).catch(() => undefined);
      if (!user) return { orgId: null, teamIds: [] };
      return { orgId: actor.role === 'admin' ? null : user.orgId, teamIds: user.teamId ? await teamSubtree(db, user.teamId) : [] };
    })());

  const reach = (permission: Permission) => {
    const r = reachOf(actor.role, permission);
    if (!r) throw new GatewayError('forbidden', `The ${actor.role} role may not ${permission.replace(':', ' ')}.`);
    return r;
  };

  async function assertOrg(permission: Permission, orgId: string) {
    reach(permission);
    const { orgId: own } = await loadHome();
    if (own && own !== orgId) throw outOfReach('That org');
  }

  return {
    actor,
    async visibility(permission) {
      const r = reach(permission);
      const { orgId, teamIds } = await loadHome();
      if (r === 'all') return orgId ? { ...everything, orgId } : everything;
      if (r === 'teams') return { orgId, teamIds, userId: null };
      return { orgId, teamIds: null, userId: actor.userId ?? '' };
    },
    assertOrg,
    async assertTeam(permission, team) {
      await assertOrg(permission, team.orgId);
      const r = reach(permission);
      if (r === 'teams' && !(await loadHome()).teamIds.includes(team.id)) throw outOfReach('That team');
      if (r === 'own') throw outOfReach('That team');
    },
    async assertUser(permission, user) {
      await assertOrg(permission, user.orgId);
      const r = reach(permission);
      if (r === 'teams' && !(user.teamId && (await loadHome()).teamIds.includes(user.teamId))) throw outOfReach('That user');
      if (r === 'own' && user.id !== actor.userId) throw outOfReach('That user');
    },
    async assertTarget(permission, target) {
      await assertOrg(permission, target.orgId);
      const r = reach(permission);
      if (r === 'all') return;
      // Org-wide and '*' rules belong to whoever runs the org.
      if (!target.teamId && !target.userId) throw outOfReach('That scope');
      if (r === 'teams' && !(target.teamId && (await loadHome()).teamIds.includes(target.teamId))) throw outOfReach('That scope');
      if (r === 'own' && target.userId !== actor.userId) throw outOfReach('That scope');
    },
  };
}
