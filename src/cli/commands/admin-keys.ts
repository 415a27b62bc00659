// `tollgate admin keys …`: the admin API's own keys (roles for people and automation), listed,
// created (shown once) and revoked over the admin API.
import { apiCommand } from '../api-command.js';
import { print } from '../output.js';
import { userId } from '../resolve.js';
import { UsageError } from './keys.js';

const columns = ['id', 'prefix', 'name', 'role', 'userId', 'expiresAt', 'revokedAt', 'createdAt'];

export const adminKeysList = apiCommand({
  name: 'admin keys list',
  summary: 'List admin API keys (never the keys themselves).',
  async run({ client, values, out }) {
    print(out, values.json, await client.call('GET', '/admin-keys'), columns);
  },
});

export const adminKeysCreate = apiCommand({
  name: 'admin keys create',
  summary: 'Create an admin API key: --name N --role admin|manager|analyst|developer|viewer [--user USER (whose reach a manager or developer key has)] [--expires ISO]; prints the key once.',
  options: { name: { type: 'string' }, role: { type: 'string' }, user: { type: 'string' }, expires: { type: 'string' } },
  async run({ client, org, str, values, out }) {
    const name = str('name');
    const role = str('role');
    if (!name || !role) throw new UsageError('admin keys create needs --name NAME and --role ROLE, e.g. --name ci --role viewer');
    const expires = str('expires');
    if (expires !== undefined && Number.isNaN(Date.parse(expires))) throw new UsageError('--expires must be an ISO date with an offset, e.g. 2027-01-31T00:00:00Z');
    const user = str('user');
    const body = { name, role, userId: user ? await userId(client, await org(), user) : undefined, expiresAt: expires === undefined ? undefined : new Date(expires).toISOString() };
    const created = await client.call('POST', '/admin-keys', { body });
    if (values.json) out(JSON.stringify(created));
    else out(`${created.key}\n(admin key ${created.id}, role ${created.role}; this is the only time the key is shown)`);
  },
});

export const adminKeysRevoke = apiCommand({
  name: 'admin keys revoke',
  summary: 'Revoke an admin API key by id.',
  args: 'ID',
  async run({ client, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('admin keys revoke needs an admin key id (admin keys list shows them)');
    print(out, values.json, await client.call('POST', `/admin-keys/${positionals[0]}/revoke`), columns);
  },
});
