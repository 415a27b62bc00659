import { apiCommand } from '../api-command.js';
import { print } from '../output.js';
import { userId } from '../resolve.js';
import { UsageError } from './keys.js';

const columns = ['id', 'prefix', 'name', 'userId', 'expiresAt', 'revokedAt', 'lastUsedAt'];

export const keysList = apiCommand({
  name: 'keys list',
  summary: 'List API keys (--user NAME, --active).',
  options: { user: { type: 'string' }, active: { type: 'boolean', default: false } },
  async run({ client, org, str, values, out }) {
    const orgId = await org();
    const user = str('user');
    const page = await client.call('GET', '/keys', { query: { orgId, userId: user ? await userId(client, orgId, user) : undefined, active: values.active ? 'true' : undefined } });
    print(out, values.json, page, columns);
  },
});

export const keysRotate = apiCommand({
  name: 'keys rotate',
  summary: 'Issue a replacement for a key; the old key keeps working for the grace period (--grace-ms).',
  options: { 'grace-ms': { type: 'string' } },
  async run({ client, positionals, str, values, out }) {
    if (!positionals[0]) throw new UsageError('keys rotate needs a key id');
    const grace = str('grace-ms');
    const rotated = await client.call('POST', `/keys/${positionals[0]}/rotate`, { body: grace === undefined ? {} : { graceMs: Number(grace) } });
    if (values.json) out(JSON.stringify(rotated));
    else out(`${rotated.key.key}\n(new key ${rotated.key.id}; ${positionals[0]} keeps working until ${rotated.previous.expiresAt})`);
  },
});
