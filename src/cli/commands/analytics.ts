// `tollgate analytics`: an org's budget forecasts, recent anomalies and recommendations, from
// GET /admin/v1/analytics (over HTTP with TOLLGATE_URL, else in this process on the database).
import type { Analysis } from '../../analytics/analyse.js';
import { apiCommand } from '../api-command.js';
import { table } from '../output.js';
import { UsageError } from './keys.js';

const money = (micros: number) => `$${(micros / 1_000_000).toFixed(2)}`;
const amount = (metric: string, value: number | null) => (value === null ? '-' : metric === 'costMicros' ? money(value) : String(value));

function render(analysis: Analysis, out: (line: string) => void): void {
  if (analysis.forecasts) {
    out(`Forecasts (${analysis.forecasts.length} budget subjects; end-of-period P10/P50/P90, run-out at the P50 pace)`);
    const rows = analysis.forecasts.map(({ scope, subjectId, metric, window, forecast: f }) => ({
      scope, subject: subjectId, budget: `${metric}/${window}`, used: amount(metric, f.usedAmount), limit: amount(metric, f.limitAmount),
      p10: amount(metric, f.endOfPeriod.p10Amount), p50: amount(metric, f.endOfPeriod.p50Amount), p90: amount(metric, f.endOfPeriod.p90Amount),
      run_out: f.exhausted ? 'exhausted' : (f.runOutDay ?? '-'), method: f.method,
    }));
    out(table(rows, ['scope', 'subject', 'budget', 'used', 'limit', 'p10', 'p50', 'p90', 'run_out', 'method']));
    out('');
  }
  if (analysis.anomalies) {
    out(`Anomalies (${analysis.anomalies.length}; days in ${analysis.timeZone})`);
    const rows = analysis.anomalies.map((a) => ({ day: a.day, scope: a.scope, id: a.scopeId, actual: amount(a.metric, a.actualAmount), baseline: amount(a.metric, a.baselineAmount), excess: amount(a.metric, a.excessAmount), z: a.zScore }));
    out(table(rows, ['day', 'scope', 'id', 'actual', 'baseline', 'excess', 'z']));
    out('');
  }
  if (analysis.recommendations) {
    out(`Recommendations (${analysis.recommendations.length})`);
    for (const r of analysis.recommendations) {
      out(`- [${r.kind}] ${r.message}${r.savingsMicros === undefined ? '' : ` Estimated saving ${money(r.savingsMicros)}.`}`);
      if (r.assumption) out(`    assumes ${r.assumption}`);
    }
  }
}

export const analytics = apiCommand({
  name: 'analytics',
  summary: 'Budget forecasts, spend anomalies and recommendations for --org: [--forecast] [--anomalies] [--recommendations] (all when none) [--tz Z] [--lookback-days N] [--json].',
  options: { forecast: { type: 'boolean' }, anomalies: { type: 'boolean' }, recommendations: { type: 'boolean' }, tz: { type: 'string' }, 'lookback-days': { type: 'string' } },
  async run(ctx) {
    const lookback = ctx.str('lookback-days');
    if (lookback !== undefined && !/^\d+$/.test(lookback)) throw new UsageError('--lookback-days must be a whole number of days');
    const sections = (['forecast', 'anomalies', 'recommendations'] as const).filter((s) => ctx.values[s] === true);
    const query = {
      orgId: await ctx.org(),
      tz: ctx.str('tz'),
      lookbackDays: lookback,
      ...Object.fromEntries(sections.map((s) => [s, 'true'])),
    };
    const analysis = await ctx.client.call<Analysis>('GET', '/analytics', { query });
    if (ctx.values.json) ctx.out(JSON.stringify(analysis));
    else render(analysis, ctx.out);
  },
});
