// Overview: spend today and month to date, the 30-day trend, the month-end forecast bands, top
// teams, users and models, active alerts and the gateway's readiness. Every figure is an answer
// of /admin/v1/usage, /admin/v1/analytics, /admin/v1/alerts or /ready as given.
import { html } from '../vendor/preact-htm.js';
import { admin, health } from '../api.js';
import { Badge, Card, ErrorLine, Loading, Stat, Table } from '../components.js';
import { Bars, LineChart } from '../chart.js';
import { daysBefore, localToday, money, monthStart, num, timeZone, when } from '../format.js';
import { useLive } from '../live.js';

const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));

async function loadOverview(orgId) {
  const tz = timeZone();
  const today = localToday();
  const usage = (params) => admin.get('/usage', { tz, org: orgId, ...params });
  const month = { from: monthStart(today), to: today };
  const [day, mtd, trend, teams, users, models, analytics, alerts, ready] = await Promise.all([
    settle(usage({ from: today, to: today })),
    settle(usage(month)),
    settle(usage({ from: daysBefore(today, 29), to: today, groupBy: 'day' })),
    settle(usage({ ...month, groupBy: 'team', limit: 5 })),
    settle(usage({ ...month, groupBy: 'user', limit: 5 })),
    settle(usage({ ...month, groupBy: 'model', limit: 5 })),
    settle(admin.get('/analytics', { orgId, tz, forecast: 'true' })),
    settle(admin.get('/alerts', { active: 'true', limit: 10 })),
    settle(health()),
  ]);
  return { today, day, mtd, trend, teams, users, models, analytics, alerts, ready };
}

const top = (result, dimension) => (result.value?.rows ?? []).map((r) => ({ label: r[dimension] ?? '(none)', value: r.costMicros }));

function Forecasts({ analytics }) {
  if (analytics.error) return html`<${ErrorLine} error=${analytics.error} />`;
  const monthly = (analytics.value.forecasts ?? []).filter((f) => f.window === 'month' && f.metric === 'costMicros');
  if (monthly.length === 0) return html`<p class="muted" data-testid="forecast-none">No monthly spend budget to forecast.</p>`;
  const first = monthly[0].forecast;
  const points = first.daily.map((d) => ({ x: d.day.slice(5), y: d.p50Amount, low: d.p10Amount, high: d.p90Amount }));
  return html`
    <${LineChart} points=${points} format=${money} testId="forecast-chart" />
    <${Table} testId="forecasts" columns=${[
      { label: 'Budget', render: (f) => `${f.scope} ${f.subjectId}` },
      { label: 'Used', render: (f) => money(f.forecast.usedAmount) },
      { label: 'Month end P10–P90', render: (f) => html`<span data-testid="forecast-band">${money(f.forecast.endOfPeriod.p10Amount)} – ${money(f.forecast.endOfPeriod.p90Amount)}</span>` },
      { label: 'Limit', render: (f) => money(f.forecast.limitAmount) },
      { label: 'Runs out', render: (f) => f.forecast.runOutDay ?? '—' },
    ]} rows=${monthly} />`;
}

export function Overview({ orgId }) {
  const { data, error } = useLive(() => loadOverview(orgId), [orgId]);
  if (!data) return error ? html`<${ErrorLine} error=${error} />` : html`<${Loading} />`;
  const { day, mtd, trend, teams, users, models, analytics, alerts, ready } = data;
  const trendPoints = (trend.value?.rows ?? []).map((r) => ({ x: r.bucket.slice(5, 10), y: r.costMicros }));
  return html`
    <div class="grid stats">
      <${Stat} label="Spend today" testId="spend-today" raw=${day.value?.totals.costMicros} value=${day.error ? '—' : money(day.value.totals.costMicros)} hint=${day.value ? `${num(day.value.totals.requests)} requests` : day.error?.message} />
      <${Stat} label="Month to date" testId="spend-month" raw=${mtd.value?.totals.costMicros} value=${mtd.error ? '—' : money(mtd.value.totals.costMicros)} hint=${mtd.value ? `${num(mtd.value.totals.requests)} requests` : mtd.error?.message} />
      <${Stat} label="Tokens this month" testId="tokens-month" raw=${mtd.value ? mtd.value.totals.inputTokens + mtd.value.totals.outputTokens : undefined} value=${mtd.value ? num(mtd.value.totals.inputTokens + mtd.value.totals.outputTokens) : '—'} />
      <${Stat} label="Gateway" testId="health" value=${ready.value ? html`<${Badge} kind=${ready.value.status === 'ready' ? 'ok' : 'warn'}>${ready.value.status}</${Badge}>` : '—'}
        hint=${ready.value ? Object.entries(ready.value.checks).map(([k, v]) => `${k} ${v}`).join(' · ') : ''} />
    </div>
    <${Card} title="Spend by day (30 days)"><${ErrorLine} error=${trend.error} /><${LineChart} points=${trendPoints} format=${money} testId="trend-chart" /></${Card}>
    <${Card} title="Forecast to month end (P50, P10–P90 band)" testId="forecast"><${Forecasts} analytics=${analytics} /></${Card}>
    <div class="grid three">
      <${Card} title="Top teams"><${ErrorLine} error=${teams.error} /><${Bars} rows=${top(teams, 'team')} format=${money} testId="top-teams" /></${Card}>
      <${Card} title="Top users"><${ErrorLine} error=${users.error} /><${Bars} rows=${top(users, 'user')} format=${money} testId="top-users" /></${Card}>
      <${Card} title="Top models"><${ErrorLine} error=${models.error} /><${Bars} rows=${top(models, 'model')} format=${money} testId="top-models" /></${Card}>
    </div>
    <${Card} title="Active alerts" testId="active-alerts">
      <${ErrorLine} error=${alerts.error} />
      <${Table} empty="No active alerts." columns=${[
        { label: 'Severity', render: (a) => html`<${Badge} kind=${a.severity}>${a.severity}</${Badge}>` },
        { label: 'Alert', key: 'name' },
        { label: 'Summary', key: 'summary' },
        { label: 'State', key: 'state' },
        { label: 'Since', render: (a) => when(a.firstSeenAt ?? a.createdAt) },
      ]} rows=${alerts.value?.data ?? []} />
    </${Card}>`;
}
