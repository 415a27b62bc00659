import { apiCommand } from '../api-command.js';
import { print } from '../output.js';
import { teamId } from '../resolve.js';
import { UsageError } from './keys.js';

const columns = ['id', 'name', 'parentId'];

export const teamsList = apiCommand({
  name: 'teams list',
  summary: 'List the teams of an org.',
  async run({ client, org, values, out }) {
    print(out, values.json, await client.call('GET', '/teams', { query: { orgId: await org() } }), columns);
  },
});

export const teamsCreate = apiCommand({
  name: 'teams create',
  summary: 'Create a team: --name NAME [--parent TEAM].',
  options: { name: { type: 'string' }, parent: { type: 'string' } },
  async run({ client, org, str, values, out }) {
    const name = str('name');
    if (!name) throw new UsageError('teams create needs --name NAME');
    const orgId = await org();
    const parent = str('parent');
    print(out, values.json, await client.call('POST', '/teams', { body: { orgId, name, parentId: parent ? await teamId(client, orgId, parent) : undefined } }), columns);
  },
});
