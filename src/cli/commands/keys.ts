import { createKey, revokeKey } from '../../control/identity.js';
import type { Command } from '../command.js';
import { openOffline } from '../context.js';

export const keysCreate: Command = {
  name: 'keys create',
  summary: 'Create an API key for a user (creating the org, team and user if needed); prints the key once.',
  options: {
    user: { type: 'string' },
    org: { type: 'string', default: 'default' },
    team: { type: 'string' },
    name: { type: 'string' },
    models: { type: 'string' },
    expires: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  async run({ values, out }) {
    const user = values.user;
    if (typeof user !== 'string' || user === '') throw new UsageError('keys create needs --user NAME');
    const expires = typeof values.expires === 'string' ? new Date(values.expires) : undefined;
    if (expires && Number.isNaN(expires.getTime())) throw new UsageError('--expires must be an ISO date, e.g. 2027-01-31T00:00:00Z');
    const offline = await openOffline();
    try {
      const created = await createKey(offline.database.db, offline.bus, {
        org: String(values.org),
        team: values.team as string | undefined,
        user,
        name: values.name as string | undefined,
        allowedModels: typeof values.models === 'string' ? values.models.split(',').map((m) => m.trim()).filter(Boolean) : undefined,
        expiresAt: expires,
      });
      if (values.json) out(JSON.stringify(created));
      else out(`${created.key}\n(key id ${created.id} for user ${user}; this is the only time the key is shown)`);
    } finally {
      await offline.close();
    }
  },
};

export const keysRevoke: Command = {
  name: 'keys revoke',
  summary: 'Revoke a key by id; every replica refuses it within a second.',
  options: { json: { type: 'boolean', default: false } },
  async run({ positionals, values, out }) {
    const id = positionals[0];
    if (!id) throw new UsageError('keys revoke needs a key id');
    const offline = await openOffline();
    try {
      const revoked = await revokeKey(offline.database.db, offline.bus, id);
      if (values.json) out(JSON.stringify({ id, revoked }));
      else out(revoked ? `revoked ${id}` : `no key ${id}`);
      return revoked ? 0 : 1;
    } finally {
      await offline.close();
    }
  },
};

export class UsageError extends Error {
  override name = 'UsageError';
}
