import { apiCommand, type ApiCommandContext } from '../api-command.js';
import { print } from '../output.js';
import { teamId, userId } from '../resolve.js';
import { UsageError } from './keys.js';

const columns = ['id', 'scope', 'scopeId', 'metric', 'window', 'limit', 'warnPct', 'criticalPct', 'timezone'];
const scopeOptions = { user: { type: 'string' }, key: { type: 'string' }, team: { type: 'string' } } as const;

// --user / --key / --team name the scope; with none of them the budget is the org's own.
async function scopeOf(ctx: ApiCommandContext): Promise<{ scope: string; scopeId: string }> {
  const orgId = await ctx.org();
  const given = (['user', 'key', 'team'] as const).filter((s) => ctx.str(s) !== undefined);
  if (given.length > 1) throw new UsageError('name one scope: --user, --key, --team or --org');
  const [scope] = given;
  if (scope === 'user') return { scope, scopeId: await userId(ctx.client, orgId, ctx.str('user')!) };
  if (scope === 'team') return { scope, scopeId: await teamId(ctx.client, orgId, ctx.str('team')!) };
  if (scope === 'key') return { scope, scopeId: ctx.str('key')! };
  return { scope: 'org', scopeId: orgId };
}

const percent = (text: string | undefined, flag: string) => {
  if (text === undefined) return undefined;
  const value = Number(text.replace(/%$/, ''));
  if (!Number.isInteger(value) || value < 1 || value > 100) throw new UsageError(`--${flag} must be a whole percentage from 1 to 100`);
  return value;
};

// --metric cost takes dollars; the API stores integer micro-USD.
function limitOf(metric: string, text: string | undefined): { metric: string; limit: number } {
  const value = Number(text);
  if (text === undefined || !Number.isFinite(value) || value < 0) throw new UsageError('--limit must be a non-negative number');
  if (metric === 'cost') return { metric: 'costMicros', limit: Math.round(value * 1_000_000) };
  if (!Number.isInteger(value)) throw new UsageError(`--limit must be a whole number of ${metric}`);
  return { metric, limit: value };
}

export const budgetsSet = apiCommand({
  name: 'budgets set',
  summary: 'Set a budget: --user|--key|--team|--org, --metric tokens|cost|requests, --window, --limit (dollars for cost) [--warn --critical --tz; --require-session with --window session].',
  options: { ...scopeOptions, metric: { type: 'string', default: 'tokens' }, window: { type: 'string', default: 'day' }, limit: { type: 'string' }, warn: { type: 'string' }, critical: { type: 'string' }, tz: { type: 'string' }, 'require-session': { type: 'boolean' } },
  async run(ctx) {
    const { metric, limit } = limitOf(ctx.str('metric')!, ctx.str('limit'));
    const body = { ...(await scopeOf(ctx)), metric, limit, window: ctx.str('window'), warnPct: percent(ctx.str('warn'), 'warn'), criticalPct: percent(ctx.str('critical'), 'critical'), timezone: ctx.str('tz') };
    const requireSession = ctx.values['require-session'] === true ? { requireSession: true } : {};
    print(ctx.out, ctx.values.json, await ctx.client.call('PUT', '/budgets', { body: { ...body, ...requireSession } }), columns);
  },
});

export const budgetsList = apiCommand({
  name: 'budgets list',
  summary: 'List budgets, all of the org or of one --user|--key|--team.',
  options: scopeOptions,
  async run(ctx) {
    const named = ['user', 'key', 'team'].some((s) => ctx.str(s) !== undefined);
    const query = named ? await scopeOf(ctx) : { orgId: await ctx.org() };
    print(ctx.out, ctx.values.json, await ctx.client.call('GET', '/budgets', { query }), columns);
  },
});

export const budgetsApplyTemplate = apiCommand({
  name: 'budgets apply-template',
  summary: 'Apply a budget template to --user or --team, e.g. budgets apply-template power_user --team research.',
  options: { user: { type: 'string' }, team: { type: 'string' } },
  async run(ctx) {
    const template = ctx.positionals[0];
    if (!template) throw new UsageError('budgets apply-template needs a template name');
    const target = await scopeOf(ctx);
    if (target.scope !== 'user' && target.scope !== 'team') throw new UsageError('apply a template to --user or --team');
    print(ctx.out, ctx.values.json, await ctx.client.call('POST', `/budget-templates/${template}/apply`, { body: target }), columns);
  },
});

export const budgetsShow = apiCommand({
  name: 'budgets show',
  summary: 'Show one budget by id (budgets list shows the ids).',
  args: 'ID',
  async run(ctx) {
    if (!ctx.positionals[0]) throw new UsageError('budgets show needs a budget id (budgets list shows them)');
    print(ctx.out, ctx.values.json, await ctx.client.call('GET', `/budgets/${ctx.positionals[0]}`), columns);
  },
});

export const budgetsDelete = apiCommand({
  name: 'budgets delete',
  summary: 'Delete a budget by id; the rule stops applying on every replica at once.',
  args: 'ID',
  async run(ctx) {
    if (!ctx.positionals[0]) throw new UsageError('budgets delete needs a budget id (budgets list shows them)');
    print(ctx.out, ctx.values.json, await ctx.client.call('DELETE', `/budgets/${ctx.positionals[0]}`), columns);
  },
});
