// Teams and users with drill-down: a team's members, usage by day and budgets; a user's usage by
// day, budgets and keys. Reach is the admin API's: a manager sees their own teams only.
import { html, useState } from '../vendor/preact-htm.js';
import { admin } from '../api.js';
import { Card, ErrorLine, Loading, Progress, Table } from '../components.js';
import { LineChart } from '../chart.js';
import { amount, daysBefore, localToday, money, timeZone, when } from '../format.js';
import { useLive, useOnce } from '../live.js';

async function loadDetail(kind, id, orgId) {
  const today = localToday();
  const filter = kind === 'team' ? { team: id } : { user: id };
  const [usage, budgets, analytics, extra] = await Promise.all([
    admin.get('/usage', { from: daysBefore(today, 29), to: today, tz: timeZone(), org: orgId, groupBy: 'day', ...filter }),
    admin.get('/budgets', { scope: kind, scopeId: id }),
    admin.get('/analytics', { orgId, tz: timeZone(), forecast: 'true' }).catch(() => ({ forecasts: [] })),
    kind === 'team' ? admin.get(`/teams/${id}/members`) : admin.get('/keys', { userId: id }),
  ]);
  const standing = (analytics.forecasts ?? []).filter((f) => f.scope === kind && f.subjectId === id);
  return { usage, budgets: budgets.data, standing, extra: extra.data };
}

function Detail({ kind, id, orgId }) {
  const { data, error } = useLive(() => loadDetail(kind, id, orgId), [kind, id, orgId]);
  if (!data) return error ? html`<${ErrorLine} error=${error} />` : html`<${Loading} />`;
  return html`
    <${Card} title=${`${kind} ${id}: spend by day`} testId="detail"><${LineChart} points=${data.usage.rows.map((r) => ({ x: r.bucket.slice(5, 10), y: r.costMicros }))} format=${money} testId="detail-chart" /></${Card}>
    <${Card} title="Budgets this period">
      <${Table} empty="No forecast budget." columns=${[
        { label: 'Budget', render: (f) => `${f.metric}/${f.window}` },
        { label: 'Used', render: (f) => html`${amount(f.metric, f.forecast.usedAmount)} of ${amount(f.metric, f.forecast.limitAmount)}<${Progress} used=${f.forecast.usedAmount} limit=${f.forecast.limitAmount ?? 0} warnPct=${f.warnPct} criticalPct=${f.criticalPct} />` },
        { label: 'Runs out', render: (f) => f.forecast.runOutDay ?? '—' },
      ]} rows=${data.standing} />
      <${Table} empty="No budgets set on it." columns=${[
        { label: 'Metric / window', render: (b) => `${b.metric} / ${b.window}` }, { label: 'Limit', render: (b) => amount(b.metric, b.limit) },
      ]} rows=${data.budgets} />
    </${Card}>
    <${Card} title=${kind === 'team' ? 'Members' : 'Keys'}>
      <${Table} columns=${kind === 'team'
        ? [{ label: 'User', render: (m) => m.userId ?? m.id }, { label: 'Name', render: (m) => m.name ?? '' }]
        : [{ label: 'Prefix', key: 'prefix' }, { label: 'Name', key: 'name' }, { label: 'Revoked', render: (k) => when(k.revokedAt) }]} rows=${data.extra} />
    </${Card}>`;
}

export function People({ orgId }) {
  const teams = useOnce(() => admin.get('/teams', { orgId }), [orgId]);
  const users = useOnce(() => admin.get('/users', { orgId, limit: 200 }), [orgId]);
  const [open, setOpen] = useState(null);
  const pick = (kind, id) => html`<button class="link" data-testid=${`open-${kind}-${id}`} onClick=${() => setOpen({ kind, id })}>${id}</button>`;
  return html`
    <div class="grid two">
      <${Card} title="Teams" testId="teams">
        ${teams.data ? html`<${Table} testId="team-list" columns=${[{ label: 'Id', render: (t) => pick('team', t.id) }, { label: 'Name', key: 'name' }, { label: 'Parent', render: (t) => t.parentId ?? '' }]} rows=${teams.data.data} />` : html`<${ErrorLine} error=${teams.error} />`}
      </${Card}>
      <${Card} title="Users" testId="users">
        ${users.data ? html`<${Table} testId="user-list" columns=${[{ label: 'Id', render: (u) => pick('user', u.id) }, { label: 'Name', key: 'name' }, { label: 'Email', key: 'email' }]} rows=${users.data.data} />` : html`<${ErrorLine} error=${users.error} />`}
      </${Card}>
    </div>
    ${open ? html`<${Detail} kind=${open.kind} id=${open.id} orgId=${orgId} />` : null}`;
}
