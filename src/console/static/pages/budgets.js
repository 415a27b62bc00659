// Budgets: list, set (create or update by scope, metric and window), edit a limit, apply a template.
import { html, useState } from '../vendor/preact-htm.js';
import { admin } from '../api.js';
import { Card, ErrorLine, Loading, Table } from '../components.js';
import { amount } from '../format.js';
import { useLive, useOnce } from '../live.js';

const field = (label, value, set, attrs = {}) => html`<label>${label} <input value=${value} onInput=${(e) => set(e.target.value)} ...${attrs} /></label>`;
const choice = (label, value, set, options) => html`<label>${label} <select value=${value} onChange=${(e) => set(e.target.value)}>${options.map((o) => html`<option value=${o}>${o}</option>`)}</select></label>`;

export function Budgets({ orgId }) {
  const { data, error, reload } = useLive(() => admin.get('/budgets', { orgId }), [orgId]);
  const templates = useOnce(() => admin.get('/budget-templates'), []);
  const [scope, setScope] = useState('user');
  const [scopeId, setScopeId] = useState('');
  const [metric, setMetric] = useState('costMicros');
  const [windowName, setWindow] = useState('month');
  const [limit, setLimit] = useState('');
  const [template, setTemplate] = useState('');
  const [target, setTarget] = useState({ scope: 'user', scopeId: '' });
  const [actionError, setActionError] = useState(null);
  const [done, setDone] = useState(null);
  const act = async (work, message) => {
    setActionError(null);
    setDone(null);
    try {
      await work();
      setDone(message);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const setBudget = (e) => {
    e.preventDefault();
    act(() => admin.put('/budgets', { scope, scopeId, metric, window: windowName, limit: Number(limit), ...(scopeId === '*' ? { orgId } : {}) }), 'Budget saved.');
  };
  const apply = (e) => {
    e.preventDefault();
    act(() => admin.post(`/budget-templates/${encodeURIComponent(template)}/apply`, target), `Template ${template} applied.`);
  };
  const edit = (b) => {
    const next = prompt(`New limit for ${b.scope} ${b.scopeId} ${b.metric}/${b.window}${b.metric === 'costMicros' ? ' (micro-USD)' : ''}`, String(b.limit));
    if (next !== null) act(() => admin.patch(`/budgets/${b.id}`, { limit: Number(next) }), 'Limit changed.');
  };
  return html`
    <${Card} title="Set a budget">
      <form class="inline-form" onSubmit=${setBudget} data-testid="budget-form">
        ${choice('Scope', scope, setScope, ['user', 'team', 'key', 'org'])}
        ${field('Id', scopeId, setScopeId, { required: true, placeholder: 'usr_…, team_…, * for each' })}
        ${choice('Metric', metric, setMetric, ['costMicros', 'tokens', 'requests'])}
        ${choice('Window', windowName, setWindow, ['minute', 'hour', 'day', 'month', 'total', 'session'])}
        ${field('Limit', limit, setLimit, { required: true, type: 'number', min: 0, placeholder: metric === 'costMicros' ? 'micro-USD' : '' })}
        <button type="submit">Save</button>
      </form>
      <form class="inline-form" onSubmit=${apply} data-testid="template-form">
        ${choice('Template', template, setTemplate, ['', ...(templates.data?.data ?? []).map((t) => t.name)])}
        ${choice('To', target.scope, (s) => setTarget({ ...target, scope: s }), ['user', 'team'])}
        ${field('Id', target.scopeId, (v) => setTarget({ ...target, scopeId: v }), { required: true })}
        <button type="submit" disabled=${!template}>Apply</button>
      </form>
      ${done ? html`<p class="ok">${done}</p>` : null}
      <${ErrorLine} error=${actionError} />
    </${Card}>
    <${Card} title="Budgets">
      ${!data ? (error ? html`<${ErrorLine} error=${error} />` : html`<${Loading} />`) : html`
      <${Table} testId="budgets" columns=${[
        { label: 'Scope', render: (b) => `${b.scope} ${b.scopeId}` },
        { label: 'Metric / window', render: (b) => `${b.metric} / ${b.window}` },
        { label: 'Limit', render: (b) => amount(b.metric, b.limit) },
        { label: 'Warn / critical', render: (b) => `${b.warnPct ?? '—'}% / ${b.criticalPct ?? '—'}%` },
        { label: '', render: (b) => html`<button class="link" onClick=${() => edit(b)}>Edit</button>
            <button class="link danger" onClick=${() => confirm('Delete this budget?') && act(() => admin.delete(`/budgets/${b.id}`), 'Budget deleted.')}>Delete</button>` },
      ]} rows=${data.data} />`}
    </${Card}>`;
}
