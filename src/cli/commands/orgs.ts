import { apiCommand } from '../api-command.js';
import { print } from '../output.js';
import { orgId } from '../resolve.js';
import { UsageError } from './keys.js';

export const orgsList = apiCommand({
  name: 'orgs list',
  summary: 'List orgs.',
  async run({ client, values, out }) {
    print(out, values.json, await client.call('GET', '/orgs'), ['id', 'name', 'createdAt']);
  },
});

export const orgsCreate = apiCommand({
  name: 'orgs create',
  summary: 'Create an org: orgs create NAME.',
  async run({ client, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('orgs create needs a name');
    print(out, values.json, await client.call('POST', '/orgs', { body: { name: positionals[0] } }), ['id', 'name']);
  },
});

export const orgsShow = apiCommand({
  name: 'orgs show',
  summary: 'Show one org by name or id.',
  args: 'ORG',
  async run({ client, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('orgs show needs an org name or id');
    print(out, values.json, await client.call('GET', `/orgs/${await orgId(client, positionals[0])}`), ['id', 'name', 'createdAt']);
  },
});
