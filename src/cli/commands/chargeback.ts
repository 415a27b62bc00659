// Chargeback metadata from the CLI: `users metadata USER` and `teams metadata TEAM` set department,
// cost center and labels (--label k=v adds or changes one, --label k= removes it) through PATCH;
// `users import-metadata FILE.csv` and `users export-metadata` move them in bulk as CSV.
import { readFileSync, writeFileSync } from 'node:fs';
import { apiCommand, type ApiCommandContext } from '../api-command.js';
import { print } from '../output.js';
import { teamId, userId } from '../resolve.js';
import { UsageError } from './keys.js';

const options = {
  department: { type: 'string' },
  'cost-center': { type: 'string' },
  label: { type: 'string', multiple: true },
  clear: { type: 'string', multiple: true },
} as const;

const columns = ['id', 'name', 'department', 'costCenter', 'labels'];

// The PATCH body from the flags; --clear department|cost-center empties a field.
function metadataBody(ctx: ApiCommandContext, command: string) {
  const labels: Record<string, string | null> = {};
  for (const pair of (ctx.values.label as unknown as string[] | undefined) ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--label takes KEY=VALUE (KEY= removes the label), not ${pair}`);
    labels[pair.slice(0, at)] = pair.slice(at + 1) === '' ? null : pair.slice(at + 1);
  }
  const cleared = (ctx.values.clear as unknown as string[] | undefined) ?? [];
  for (const field of cleared) if (field !== 'department' && field !== 'cost-center') throw new UsageError('--clear takes department or cost-center');
  const body = {
    department: cleared.includes('department') ? null : ctx.str('department'),
    costCenter: cleared.includes('cost-center') ? null : ctx.str('cost-center'),
    labels: Object.keys(labels).length ? labels : undefined,
  };
  if (Object.values(body).every((v) => v === undefined)) throw new UsageError(`${command} changes nothing: give --department, --cost-center, --label KEY=VALUE or --clear FIELD`);
  return body;
}

export const usersMetadata = apiCommand({
  name: 'users metadata',
  summary: 'Set who pays for a user: USER [--department D] [--cost-center C] [--label k=v ...] [--clear department|cost-center].',
  options,
  async run(ctx) {
    if (!ctx.positionals[0]) throw new UsageError('users metadata needs a user name or id');
    const body = metadataBody(ctx, 'users metadata');
    const id = await userId(ctx.client, await ctx.org(), ctx.positionals[0]);
    print(ctx.out, ctx.values.json, await ctx.client.call('PATCH', `/users/${id}`, { body }), columns);
  },
});

export const teamsMetadata = apiCommand({
  name: 'teams metadata',
  summary: 'Set who pays for a team: TEAM [--department D] [--cost-center C] [--label k=v ...] [--clear department|cost-center].',
  options,
  async run(ctx) {
    if (!ctx.positionals[0]) throw new UsageError('teams metadata needs a team name or id');
    const body = metadataBody(ctx, 'teams metadata');
    const id = await teamId(ctx.client, await ctx.org(), ctx.positionals[0]);
    print(ctx.out, ctx.values.json, await ctx.client.call('PATCH', `/teams/${id}`, { body }), columns);
  },
});

export const usersImportMetadata = apiCommand({
  name: 'users import-metadata',
  summary: 'Import chargeback metadata from CSV (type,name,department,cost_center,label:KEY...; an empty cell clears); one result per row.',
  async run({ client, org, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('users import-metadata needs a CSV file');
    const result = await client.call('POST', '/chargeback/import', { body: { orgId: await org(), csv: readFileSync(positionals[0], 'utf8') } });
    print(out, values.json, values.json ? result : result.results, ['row', 'type', 'name', 'status', 'id', 'error']);
    return result.failed > 0 ? 1 : 0;
  },
});

export const usersExportMetadata = apiCommand({
  name: 'users export-metadata',
  summary: 'Write the chargeback metadata of users and teams as CSV (the import columns) to --out or stdout.',
  options: { out: { type: 'string' } },
  async run({ client, org, str, out }) {
    const csv: string = await client.call('GET', '/chargeback/export', { query: { orgId: await org() } });
    const file = str('out');
    if (file) writeFileSync(file, csv);
    else out(csv.trimEnd());
  },
});
