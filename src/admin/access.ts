// One request's view of RBAC: turns the actor's reach for a permission into a Visibility for
// lists and into checks on single resources. The managed team set is loaded once per request.
// Separation of duties: a role of limited reach never sets the budgets that bound itself (its own
// user, keys and team, or a team above it) nor moves its own team or membership out from under them.
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
  // May set (create, change, delete, raise through a quota request) the budgets of this target.
  assertBudgetTarget(target: ScopeTarget): Promise<void>;
  // May give the team this parent (null: top level).
  assertTeamMove(team: { id: string; orgId: string }, parent: { id: string; orgId: string } | null): Promise<void>;
  // Throws forbidden when a role of limited reach would use the permission on its own user.
  assertNotSelf(permission: Permission, userId: string): Promise<void>;
}

const outOfReach = (what: string) => new GatewayError('forbidden', `${what} is outside what your role may manage.`);

export function createAccess(db: Db, actor: Actor): Access {
  let home: Promise<{ orgId: string | null; teamId: string | null; teamIds: string[] }> | undefined;
  // The org, own team and (for managers) team subtree the actor acts within, from their user.
  const loadHome = () =>
    (home ??= (async () => {
      // A userless actor other than an admin (an org-claim JWT) is held to its claimed org.
      if (!actor.userId) return { orgId: actor.role === 'admin' ? null : (actor.orgId ?? null), teamId: null, teamIds: [] };
      const user = await getUser(db, actor.userId).catch(() => undefined);
      if (!user) return { orgId: null, teamId: null, teamIds: [] };
      return { orgId: actor.role === 'admin' ? null : user.orgId, teamId: user.teamId, teamIds: user.teamId ? await teamSubtree(db, user.teamId) : [] };
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

  async function assertTeam(permission: Permission, team: { id: string; orgId: string }) {
    await assertOrg(permission, team.orgId);
    const r = reach(permission);
    if (r === 'teams' && !(await loadHome()).teamIds.includes(team.id)) throw outOfReach('That team');
    if (r === 'own') throw outOfReach('That team');
  }

  async function assertTarget(permission: Permission, target: ScopeTarget) {
    await assertOrg(permission, target.orgId);
    const r = reach(permission);
    if (r === 'all') return;
    // Org-wide and '*' rules belong to whoever runs the org.
    if (!target.teamId && !target.userId) throw outOfReach('That scope');
    if (r === 'teams' && !(target.teamId && (await loadHome()).teamIds.includes(target.teamId))) throw outOfReach('That scope');
    if (r === 'own' && target.userId !== actor.userId) throw outOfReach('That scope');
  }

  async function assertNotSelf(permission: Permission, userId: string) {
    if (reach(permission) !== 'all' && userId === actor.userId) throw new GatewayError('forbidden', 'Your role may not do this to your own user.');
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
    assertTeam,
    async assertUser(permission, user) {
      await assertOrg(permission, user.orgId);
      const r = reach(permission);
      if (r === 'teams' && !(user.teamId && (await loadHome()).teamIds.includes(user.teamId))) throw outOfReach('That user');
      if (r === 'own' && user.id !== actor.userId) throw outOfReach('That user');
    },
    assertTarget,
    async assertBudgetTarget(target) {
      await assertTarget('budgets:write', target);
      if (reach('budgets:write') === 'all') return;
      // Separation of duties: a budget also bounds whoever may set it, so a scoped role sets
      // budgets only strictly below itself: teams under its own, and users and keys of its teams
      // other than its own user.
      const own = target.userId ? target.userId === actor.userId : target.teamId === (await loadHome()).teamId;
      if (own) throw new GatewayError('forbidden', 'A budget that applies to you is set by someone above you.');
    },
    async assertTeamMove(team, parent) {
      await assertTeam('teams:write', team);
      // A top-level team answers to nobody: only org-wide reach makes one.
      if (parent) await assertTeam('teams:write', parent);
      else await assertTarget('teams:write', { orgId: team.orgId, teamId: null, userId: null });
      // Moving one's own team would leave the budgets of the teams above it.
      if (reach('teams:write') !== 'all' && team.id === (await loadHome()).teamId) throw outOfReach("Your own team's place");
    },
    assertNotSelf,
  };
}
