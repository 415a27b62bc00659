// An actor confined to one org without being a user of it: a JWT whose org claim names the org
// but whose subject is no Tollgate user. Access (src/admin/access.ts) finds an actor's org through
// its user; this wrapper adds the claimed org as the outer limit of every check and list. (Once
// Access reads actor.orgId for a userless actor itself, this file can go.)
import type { Actor } from '../control/actor.js';
import { GatewayError } from '../errors/catalogue.js';
import type { Access } from './access.js';

const otherOrg = () => new GatewayError('forbidden', 'That org is outside the org your credential is confined to.');

export function confineToOrg(access: Access, orgId: string): Access {
  const assertSame = (id: string) => {
    if (id !== orgId) throw otherOrg();
  };
  // Other checks pass through: without a user, a non-admin role reaches nothing it may write
  // (team and own reach are empty): only reads, which all pass through these checks, need the org.
  return {
    ...access,
    async visibility(permission) {
      const v = await access.visibility(permission);
      return v.orgId ? v : { ...v, orgId };
    },
    async assertOrg(permission, id) {
      await access.assertOrg(permission, id);
      assertSame(id);
    },
    async assertTeam(permission, team) {
      await access.assertTeam(permission, team);
      assertSame(team.orgId);
    },
    async assertUser(permission, user) {
      await access.assertUser(permission, user);
      assertSame(user.orgId);
    },
    async assertTarget(permission, target) {
      await access.assertTarget(permission, target);
      assertSame(target.orgId);
    },
  };
}

// Admins act across orgs; anyone else acting without a user is held to their claimed org.
export const confinedOrg = (actor: Actor): string | null => (actor.role !== 'admin' && !actor.userId && actor.orgId ? actor.orgId : null);
