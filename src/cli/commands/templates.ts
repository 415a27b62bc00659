// `tollgate templates …`: budget templates (built-in and custom) listed, shown, created or
// replaced, and deleted over the admin API. Applying one is `budgets apply-template`.
import { apiCommand } from '../api-command.js';
import { print } from '../output.js';
import { UsageError } from './keys.js';

interface TemplateRule {
  metric: string;
  window: string;
  limit: number;
}

const describeRules = (rules: readonly TemplateRule[]) => rules.map((r) => `${r.limit} ${r.metric}/${r.window}`).join(', ');
const columns = ['name', 'rules', 'warnPct', 'criticalPct', 'builtin'];

export const templatesList = apiCommand({
  name: 'templates list',
  summary: 'List budget templates.',
  async run({ client, values, out }) {
    const { data } = await client.call('GET', '/budget-templates');
    print(out, values.json, values.json ? { data } : data.map((t: { rules: TemplateRule[] }) => ({ ...t, rules: describeRules(t.rules) })), columns);
  },
});

export const templatesShow = apiCommand({
  name: 'templates show',
  summary: 'Show one budget template.',
  args: 'NAME',
  async run({ client, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('templates show needs a template name (templates list shows them)');
    const template = await client.call('GET', `/budget-templates/${encodeURIComponent(positionals[0])}`);
    print(out, values.json, values.json ? template : { ...template, rules: describeRules(template.rules) }, [...columns, 'description']);
  },
});

// `tokens/day=20000`, `requests/minute=60`, `cost/month=50` (dollars; stored as micro-USD).
export function parseTemplateRule(text: string): TemplateRule {
  const match = /^(tokens|requests|cost)\/(minute|hour|day|month|total)=(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!match) throw new UsageError(`--rule ${text} is not METRIC/WINDOW=LIMIT, e.g. --rule tokens/day=20000 or --rule cost/month=50`);
  const [, metric, window, amount] = match as unknown as [string, string, string, string];
  if (metric === 'cost') return { metric: 'costMicros', window, limit: Math.round(Number(amount) * 1_000_000) };
  if (!Number.isInteger(Number(amount))) throw new UsageError(`--rule ${text}: a ${metric} limit is a whole number`);
  return { metric, window, limit: Number(amount) };
}

export const templatesCreate = apiCommand({
  name: 'templates create',
  summary: 'Create or replace a custom template: NAME --rule METRIC/WINDOW=LIMIT (repeatable; cost in dollars) [--warn PCT] [--critical PCT] [--description TEXT].',
  args: 'NAME',
  options: { rule: { type: 'string', multiple: true }, warn: { type: 'string' }, critical: { type: 'string' }, description: { type: 'string' } },
  async run({ client, positionals, str, values, out }) {
    if (!positionals[0]) throw new UsageError('templates create needs a snake_case name, e.g. templates create intern --rule tokens/day=5000');
    const given = (values.rule as unknown as string[] | undefined) ?? [];
    if (given.length === 0) throw new UsageError('templates create needs at least one --rule METRIC/WINDOW=LIMIT, e.g. --rule tokens/day=5000');
    const pct = (flag: string) => (str(flag) === undefined ? undefined : Number(str(flag)));
    const body = { rules: given.map(parseTemplateRule), warnPct: pct('warn'), criticalPct: pct('critical'), description: str('description') };
    const template = await client.call('PUT', `/budget-templates/${encodeURIComponent(positionals[0])}`, { body });
    print(out, values.json, values.json ? template : { ...template, rules: describeRules(template.rules) }, columns);
  },
});

export const templatesDelete = apiCommand({
  name: 'templates delete',
  summary: 'Delete a custom budget template; budgets made from it stay.',
  args: 'NAME',
  async run({ client, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('templates delete needs a template name');
    print(out, values.json, await client.call('DELETE', `/budget-templates/${encodeURIComponent(positionals[0])}`), ['deleted']);
  },
});
