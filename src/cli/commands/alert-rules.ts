// `tollgate alert-rules list|set|reset`: the alert rules' thresholds and windows over the admin API.
// The flags of `set` are the rules' setting names, taken from the same schemas the API validates.
import { ruleFields } from '../../alerts/rule-settings.js';
import { apiCommand, type ApiCommandContext } from '../api-command.js';
import { print } from '../output.js';
import { UsageError } from './keys.js';

interface RuleView {
  name: string;
  settings: Record<string, unknown>;
  sources: Record<string, string>;
}

const fieldNames = [...new Set(Object.values(ruleFields).flat())];
const columns = ['rule', 'field', 'value', 'source'];
// One line per rule and field, for people; --json keeps the API's shape.
const rows = (rules: readonly RuleView[]) => rules.flatMap((r) => Object.entries(r.settings).map(([field, value]) => ({ rule: r.name, field, value, source: r.sources[field] })));

const needName = (ctx: ApiCommandContext, what: string): string => {
  if (!ctx.positionals[0]) throw new UsageError(`${what} needs a rule name (health or analytics)`);
  return encodeURIComponent(ctx.positionals[0]);
};

// Numbers and booleans as JSON reads them; anything else as text, for the API to refuse by name.
const value = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

export const alertRulesList = apiCommand({
  name: 'alert-rules list',
  summary: "Each alert rule's effective settings and whether config or an override sets each.",
  async run({ client, values, out }) {
    const listed = await client.call('GET', '/alert-rules');
    print(out, values.json, values.json ? listed : rows(listed.data), columns);
  },
});

export const alertRulesSet = apiCommand({
  name: 'alert-rules set',
  summary: `Override settings of a rule from its next evaluation: NAME --field value ... (health: windowMs, errorRate, p99LatencyMs, flushLagMs, rateLimitedMin, spendMicrosPerWindow, enabled, ...; analytics: intervalMs, enabled).`,
  options: Object.fromEntries(fieldNames.map((f) => [f, { type: 'string' as const }])),
  async run(ctx) {
    const name = needName(ctx, 'alert-rules set');
    const body = Object.fromEntries(fieldNames.flatMap((f) => (ctx.str(f) === undefined ? [] : [[f, value(ctx.str(f)!)]])));
    if (Object.keys(body).length === 0) throw new UsageError(`alert-rules set needs at least one --field value (${fieldNames.join(', ')})`);
    const updated = await ctx.client.call('PUT', `/alert-rules/${name}`, { body });
    print(ctx.out, ctx.values.json, ctx.values.json ? updated : rows([updated]), columns);
  },
});

export const alertRulesReset = apiCommand({
  name: 'alert-rules reset',
  summary: "Drop a rule's overrides: its settings come from config again.",
  async run(ctx) {
    const reset = await ctx.client.call('DELETE', `/alert-rules/${needName(ctx, 'alert-rules reset')}`);
    print(ctx.out, ctx.values.json, ctx.values.json ? reset : rows([reset]), columns);
  },
});
