import { readFileSync } from 'node:fs';
import { apiCommand } from '../api-command.js';
import { print } from '../output.js';
import { teamId, userId } from '../resolve.js';
import { UsageError } from './keys.js';

const columns = ['id', 'name', 'email', 'role', 'teamId', 'active'];

export const usersList = apiCommand({
  name: 'users list',
  summary: 'List users (--team, --role, --search, --inactive).',
  options: { team: { type: 'string' }, role: { type: 'string' }, search: { type: 'string' }, inactive: { type: 'boolean', default: false }, limit: { type: 'string', default: '100' } },
  async run({ client, org, str, values, out }) {
    const orgId = await org();
    const team = str('team');
    const page = await client.call('GET', '/users', {
      query: { orgId, teamId: team ? await teamId(client, orgId, team) : undefined, role: str('role'), search: str('search'), active: values.inactive ? 'false' : undefined, limit: str('limit') },
    });
    print(out, values.json, page, columns);
  },
});

export const usersCreate = apiCommand({
  name: 'users create',
  summary: 'Create a user: --name NAME [--email] [--team] [--role].',
  options: { name: { type: 'string' }, email: { type: 'string' }, team: { type: 'string' }, role: { type: 'string' } },
  async run({ client, org, str, values, out }) {
    const name = str('name');
    if (!name) throw new UsageError('users create needs --name NAME');
    const orgId = await org();
    const team = str('team');
    const user = await client.call('POST', '/users', { body: { orgId, name, email: str('email'), role: str('role'), teamId: team ? await teamId(client, orgId, team) : undefined } });
    print(out, values.json, user, columns);
  },
});

export const usersDeactivate = apiCommand({
  name: 'users deactivate',
  summary: 'Deactivate a user by name or id; their keys stop on every replica within a second.',
  async run({ client, org, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('users deactivate needs a user name or id');
    const user = await client.call('POST', `/users/${await userId(client, await org(), positionals[0])}/deactivate`);
    print(out, values.json, user, columns);
  },
});

export const usersImport = apiCommand({
  name: 'users import',
  summary: 'Import users from a CSV file (name,email,team,role); prints one result per row.',
  async run({ client, org, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('users import needs a CSV file');
    const result = await client.call('POST', '/users/import', { body: { orgId: await org(), csv: readFileSync(positionals[0], 'utf8') } });
    print(out, values.json, values.json ? result : result.results, ['row', 'name', 'status', 'id', 'error']);
    return result.failed > 0 ? 1 : 0;
  },
});

const list = (text: string | undefined) => text?.split(',').map((v) => v.trim()).filter(Boolean) ?? null;

export const usersKeyPolicy = apiCommand({
  name: 'users key-policy',
  summary: 'Set the limits on keys a developer mints for themselves: USER [--models a,b] [--max-days N] [--scopes chat,embeddings] (omitted: no limit), or --clear.',
  options: { models: { type: 'string' }, 'max-days': { type: 'string' }, scopes: { type: 'string' }, clear: { type: 'boolean', default: false } },
  async run({ client, org, positionals, str, values, out }) {
    if (!positionals[0]) throw new UsageError('users key-policy needs a user name or id');
    const maxDays = str('max-days');
    if (maxDays !== undefined && !/^[1-9]\d*$/.test(maxDays)) throw new UsageError('--max-days must be a positive whole number of days');
    const keyPolicy = values.clear ? null : { allowedModels: list(str('models')), maxLifetimeDays: maxDays === undefined ? null : Number(maxDays), scopes: list(str('scopes')) };
    const user = await client.call('PATCH', `/users/${await userId(client, await org(), positionals[0])}`, { body: { keyPolicy } });
    print(out, values.json, user, [...columns, 'keyPolicy']);
  },
});

export const usersUpdate = apiCommand({
  name: 'users update',
  summary: 'Change a user: USER [--name NAME] [--email E] [--team TEAM, or --no-team] [--role admin|manager|analyst|developer|viewer].',
  args: 'USER',
  options: { name: { type: 'string' }, email: { type: 'string' }, team: { type: 'string' }, 'no-team': { type: 'boolean', default: false }, role: { type: 'string' } },
  async run({ client, org, positionals, str, values, out }) {
    if (!positionals[0]) throw new UsageError('users update needs a user name or id, e.g. users update alice --email alice@example.com');
    if (str('team') !== undefined && values['no-team']) throw new UsageError('give --team TEAM or --no-team, not both');
    const orgId = await org();
    const team = str('team');
    const body = { name: str('name'), email: str('email'), role: str('role'), teamId: values['no-team'] ? null : team ? await teamId(client, orgId, team) : undefined };
    if (Object.values(body).every((v) => v === undefined)) throw new UsageError('users update changes nothing: give --name, --email, --team, --no-team or --role');
    print(out, values.json, await client.call('PATCH', `/users/${await userId(client, orgId, positionals[0])}`, { body }), columns);
  },
});

export const usersActivate = apiCommand({
  name: 'users activate',
  summary: 'Reactivate a deactivated user by name or id; their keys work again.',
  args: 'USER',
  async run({ client, org, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('users activate needs a user name or id');
    const id = await userId(client, await org(), positionals[0]);
    print(out, values.json, await client.call('POST', `/users/${id}/activate`), columns);
  },
});

export const usersShow = apiCommand({
  name: 'users show',
  summary: 'Show one user by name or id.',
  args: 'USER',
  async run({ client, org, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('users show needs a user name or id');
    print(out, values.json, await client.call('GET', `/users/${await userId(client, await org(), positionals[0])}`), [...columns, 'keyPolicy']);
  },
});
