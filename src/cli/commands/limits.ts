// `tollgate limits …`: rate limits (requests and tokens per minute) and concurrency limits
// stored over the config file's, for a key, user, team or org, through the admin API.
import { apiCommand, type ApiCommandContext } from '../api-command.js';
import { print } from '../output.js';
import { teamId, userId } from '../resolve.js';
import { UsageError } from './keys.js';

const columns = ['id', 'scope', 'scopeId', 'rpm', 'tpm', 'concurrency', 'updatedAt'];
const scopeOptions = { user: { type: 'string' }, key: { type: 'string' }, team: { type: 'string' } } as const;

// --user / --key / --team name the scope (a name, an id, or '*' for each one of the org); none: the org.
async function limitScope(ctx: ApiCommandContext): Promise<{ scope: string; scopeId: string; orgId: string }> {
  const orgId = await ctx.org();
  const given = (['user', 'key', 'team'] as const).filter((s) => ctx.str(s) !== undefined);
  if (given.length > 1) throw new UsageError('name one scope: --user, --key or --team (none: the org)');
  const [scope] = given;
  if (!scope) return { scope: 'org', scopeId: orgId, orgId };
  const named = ctx.str(scope)!;
  if (named === '*' || scope === 'key') return { scope, scopeId: named, orgId };
  return { scope, scopeId: scope === 'user' ? await userId(ctx.client, orgId, named) : await teamId(ctx.client, orgId, named), orgId };
}

// A positive whole number, or "none" to clear the field.
function perMinute(ctx: ApiCommandContext, flag: string): number | null | undefined {
  const text = ctx.str(flag);
  if (text === undefined) return undefined;
  if (text === 'none') return null;
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`--${flag} must be a positive whole number, or none to clear it`);
  return Number(text);
}

export const limitsSet = apiCommand({
  name: 'limits set',
  summary: "Set rate and concurrency limits over the config file's: --user|--key|--team (name, id or '*'; none: the org) [--rpm N] [--tpm N] [--concurrency N] (none clears one).",
  options: { ...scopeOptions, rpm: { type: 'string' }, tpm: { type: 'string' }, concurrency: { type: 'string' } },
  async run(ctx) {
    const body = { ...(await limitScope(ctx)), rpm: perMinute(ctx, 'rpm'), tpm: perMinute(ctx, 'tpm'), concurrency: perMinute(ctx, 'concurrency') };
    if (body.rpm === undefined && body.tpm === undefined && body.concurrency === undefined) throw new UsageError('limits set needs --rpm, --tpm or --concurrency, e.g. limits set --user alice --rpm 60');
    print(ctx.out, ctx.values.json, await ctx.client.call('PUT', '/limits', { body }), columns);
  },
});

export const limitsList = apiCommand({
  name: 'limits list',
  summary: 'List stored rate and concurrency limits, all of the org or of one --user|--key|--team.',
  options: scopeOptions,
  async run(ctx) {
    const named = ['user', 'key', 'team'].some((s) => ctx.str(s) !== undefined);
    const { scope, scopeId, orgId } = await limitScope(ctx);
    print(ctx.out, ctx.values.json, await ctx.client.call('GET', '/limits', { query: named ? { orgId, scope, scopeId } : { orgId } }), columns);
  },
});

export const limitsDelete = apiCommand({
  name: 'limits delete',
  summary: "Delete a stored limit by id: the config file's limits apply again.",
  args: 'ID',
  async run(ctx) {
    if (!ctx.positionals[0]) throw new UsageError('limits delete needs a limit id (limits list shows them)');
    print(ctx.out, ctx.values.json, await ctx.client.call('DELETE', `/limits/${ctx.positionals[0]}`), columns);
  },
});
