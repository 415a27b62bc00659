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

export const keysShow = apiCommand({
  name: 'keys show',
  summary: 'Show one API key by id (never the key itself).',
  args: 'ID',
  async run({ client, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('keys show needs a key id (keys list shows them)');
    print(out, values.json, await client.call('GET', `/keys/${positionals[0]}`), [...columns, 'scopes', 'allowedModels', 'metadata']);
  },
});

const list = (text: string | undefined) => text?.split(',').map((v) => v.trim()).filter(Boolean);

export const keysUpdate = apiCommand({
  name: 'keys update',
  summary: 'Change a key: ID [--name N] [--models a,b | --all-models] [--scopes chat,embeddings] [--expires ISO | --no-expiry] [--meta k=v (repeatable; replaces the metadata)].',
  args: 'ID',
  options: { name: { type: 'string' }, models: { type: 'string' }, 'all-models': { type: 'boolean', default: false }, scopes: { type: 'string' }, expires: { type: 'string' }, 'no-expiry': { type: 'boolean', default: false }, meta: { type: 'string', multiple: true } },
  async run({ client, positionals, str, values, out }) {
    if (!positionals[0]) throw new UsageError('keys update needs a key id (keys list shows them)');
    if (str('models') !== undefined && values['all-models']) throw new UsageError('give --models a,b or --all-models, not both');
    if (str('expires') !== undefined && values['no-expiry']) throw new UsageError('give --expires ISO or --no-expiry, not both');
    const expires = str('expires');
    if (expires !== undefined && Number.isNaN(Date.parse(expires))) throw new UsageError('--expires must be an ISO date with an offset, e.g. 2027-01-31T00:00:00Z');
    const pairs = (values.meta as unknown as string[] | undefined)?.map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new UsageError(`--meta ${pair} is not KEY=VALUE, e.g. --meta project=search`);
      return [pair.slice(0, at), pair.slice(at + 1)] as const;
    });
    const body = {
      name: str('name'),
      allowedModels: values['all-models'] ? null : list(str('models')),
      scopes: list(str('scopes')),
      expiresAt: values['no-expiry'] ? null : expires === undefined ? undefined : new Date(expires).toISOString(),
      metadata: pairs ? Object.fromEntries(pairs) : undefined,
    };
    if (Object.values(body).every((v) => v === undefined)) throw new UsageError('keys update changes nothing: give --name, --models, --all-models, --scopes, --expires, --no-expiry or --meta');
    print(out, values.json, await client.call('PATCH', `/keys/${positionals[0]}`, { body }), [...columns, 'scopes', 'allowedModels', 'metadata']);
  },
});
