import { createAdminKey } from '../../control/admin-keys.js';
import { hostname, userInfo } from 'node:os';
import type { Command } from '../command.js';
import { openOffline } from '../context.js';

// Works on the database directly: it is how the first admin key exists before anyone can call
// the admin API.
export const adminBootstrap: Command = {
  name: 'admin bootstrap',
  summary: 'Create an admin key on the configured database; prints the key once.',
  options: { name: { type: 'string', default: 'bootstrap' }, json: { type: 'boolean', default: false } },
  async run({ values, out }) {
    const offline = await openOffline();
    try {
      const actor = { type: 'cli', id: `${userInfo().username}@${hostname()}`, role: 'admin', userId: null } as const;
      const created = await createAdminKey(offline.database.db, { actor, requestId: 'cli-bootstrap' }, { name: String(values.name), role: 'admin' });
      if (values.json) out(JSON.stringify(created));
      else out(`${created.key}\n(admin key ${created.id}; this is the only time the key is shown)`);
    } finally {
      await offline.close();
    }
  },
};
