import { apiCommand, type ApiCommandContext } from '../api-command.js';
import { print } from '../output.js';
import { teamId, userId } from '../resolve.js';
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

export const teamsShow = apiCommand({
  name: 'teams show',
  summary: 'Show one team by name or id.',
  args: 'TEAM',
  async run({ client, org, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('teams show needs a team name or id');
    print(out, values.json, await client.call('GET', `/teams/${await teamId(client, await org(), positionals[0])}`), columns);
  },
});

export const teamsUpdate = apiCommand({
  name: 'teams update',
  summary: 'Rename or move a team: TEAM [--name NEW] [--parent TEAM, or --no-parent for the top level].',
  args: 'TEAM',
  options: { name: { type: 'string' }, parent: { type: 'string' }, 'no-parent': { type: 'boolean', default: false } },
  async run({ client, org, positionals, str, values, out }) {
    if (!positionals[0]) throw new UsageError('teams update needs a team name or id');
    const parent = str('parent');
    if (parent !== undefined && values['no-parent']) throw new UsageError('give --parent TEAM or --no-parent, not both');
    const orgId = await org();
    const body = { name: str('name'), parentId: values['no-parent'] ? null : parent ? await teamId(client, orgId, parent) : undefined };
    if (body.name === undefined && body.parentId === undefined) throw new UsageError('teams update changes nothing: give --name, --parent or --no-parent');
    print(out, values.json, await client.call('PATCH', `/teams/${await teamId(client, orgId, positionals[0])}`, { body }), columns);
  },
});

const memberColumns = ['id', 'name', 'email', 'role', 'teamId', 'active'];

export const teamsMembersList = apiCommand({
  name: 'teams members list',
  summary: "List a team's members.",
  args: 'TEAM',
  async run({ client, org, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('teams members list needs a team name or id');
    print(out, values.json, await client.call('GET', `/teams/${await teamId(client, await org(), positionals[0])}/members`), memberColumns);
  },
});

// TEAM USER for add and remove, both by name or id.
async function membership(ctx: ApiCommandContext, command: string): Promise<string> {
  const [team, user] = ctx.positionals;
  if (!team || !user) throw new UsageError(`${command} needs a team and a user, e.g. ${command} research alice`);
  const orgId = await ctx.org();
  return `/teams/${await teamId(ctx.client, orgId, team)}/members/${await userId(ctx.client, orgId, user)}`;
}

export const teamsMembersAdd = apiCommand({
  name: 'teams members add',
  summary: "Make a user a member of a team (moving them from their team); their usage is charged to the team's budgets.",
  args: 'TEAM USER',
  async run(ctx) {
    print(ctx.out, ctx.values.json, await ctx.client.call('PUT', await membership(ctx, 'teams members add')), memberColumns);
  },
});

export const teamsMembersRemove = apiCommand({
  name: 'teams members remove',
  summary: 'Remove a user from a team (they belong to no team after).',
  args: 'TEAM USER',
  async run(ctx) {
    print(ctx.out, ctx.values.json, await ctx.client.call('DELETE', await membership(ctx, 'teams members remove')), memberColumns);
  },
});
