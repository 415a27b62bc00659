// A person's data on request: export everything held about a user, or erase their personal data
// (src/privacy/). Admins only, whatever reach another role has over the user: an export carries
// other people's decisions about them and the audit trail, and an erasure cannot be undone.
import { GatewayError } from '../../errors/catalogue.js';
import { getUser } from '../../control/users.js';
import { eraseUser } from '../../privacy/erase.js';
import { exportUser } from '../../privacy/export.js';
import type { Access } from '../access.js';
import { route } from '../route.js';

function assertAdmin(access: Access): void {
  if (access.actor.role !== 'admin') throw new GatewayError('forbidden', 'Exporting or erasing a person\'s data is for admins.');
}

export const privacyRoutes = [
  route({
    method: 'GET', path: '/users/:id/export', tag: 'users', summary: "Everything held about a user, by table: profile, keys' metadata (no hashes), budgets, usage, alerts, quota requests, audit entries naming them", permission: 'users:read',
    async handle({ db, access, params }) {
      await access.assertUser('users:read', await getUser(db, params.id!));
      assertAdmin(access);
      return exportUser(db, params.id!);
    },
  }),
  route({
    method: 'POST', path: '/users/:id/erase', tag: 'users', summary: 'Erase a user\'s personal data: keys revoked, name and email removed, usage kept under a random pseudonym so totals stay exact; audited', permission: 'users:write',
    async handle({ db, bus, access, change, params }) {
      await access.assertUser('users:write', await getUser(db, params.id!));
      assertAdmin(access);
      return eraseUser(db, bus, change, params.id!);
    },
  }),
];
