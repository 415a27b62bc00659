// The self-service view of a signed-in Tollgate key: usage today, this month and this session,
// the budgets that apply with their reset times, history by day, personal alert thresholds, and
// asking for more quota. The
// figures are GET /v1/usage and /v1/usage/history's answers for this key and the thresholds are
// /v1/alerts/preferences (served to the cookie at /dashboard/api/…); quota requests go through
// the admin API as this user.
import { html, useState } from '../vendor/preact-htm.js';
import { admin, self } from '../api.js';
import { Card, ErrorLine, Loading, Progress, Stat, Table } from '../components.js';
import { LineChart } from '../chart.js';
import { amount, daysBefore, localToday, money, monthStart, num, timeZone, when } from '../format.js';
import { useLive, useOnce } from '../live.js';

function Thresholds() {
  const [draft, setDraft] = useState(null);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const current = useOnce(() => self.alertPreferences(), []);
  if (current.error) return html`<p class="muted">${current.error.message}</p>`;
  if (!current.data) return html`<${Loading} />`;
  const form = draft ?? { email: current.data.email ?? '', thresholds: current.data.thresholds.join(', ') };
  const save = async (e) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      const thresholds = form.thresholds.split(',').map((t) => t.trim()).filter(Boolean).map(Number);
      await self.setAlertPreferences({ email: form.email, thresholds });
      setSaved(true);
      current.reload();
    } catch (err) {
      setError(err);
    }
  };
  return html`
    <form class="inline-form" onSubmit=${save} data-testid="thresholds-form">
      <label>Email <input type="email" required data-testid="thresholds-email" value=${form.email} onInput=${(e) => setDraft({ ...form, email: e.target.value })} /></label>
      <label>Thresholds (% of each budget) <input data-testid="thresholds-list" placeholder="50, 75" value=${form.thresholds} onInput=${(e) => setDraft({ ...form, thresholds: e.target.value })} /></label>
      <button type="submit">Save</button>
      ${saved ? html`<span class="ok" data-testid="thresholds-saved">Saved.</span>` : null}
      <${ErrorLine} error=${error} />
    </form>`;
}

async function loadMine(sessionId) {
  const tz = timeZone();
  const today = localToday();
  const [usage, month, history, requests] = await Promise.all([
    self.usage({ session: sessionId }),
    self.history({ from: monthStart(today), to: today, tz }),
    self.history({ from: daysBefore(today, 29), to: today, tz }),
    admin.get('/quota-requests'),
  ]);
  return { usage, month, history, requests: requests.data };
}

function QuotaForm({ budgets, onDone }) {
  const [budgetId, setBudgetId] = useState('');
  const [amountText, setAmount] = useState('');
  const [justification, setJustification] = useState('');
  const [error, setError] = useState(null);
  const [sent, setSent] = useState(null);
  const stored = budgets.filter((b) => b.budget_id);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      setSent(await admin.post('/quota-requests', { budgetId, amount: Number(amountText), justification }));
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return html`
    <form class="inline-form" onSubmit=${submit} data-testid="quota-form">
      <label>Budget <input data-testid="quota-budget" required value=${budgetId} onInput=${(e) => setBudgetId(e.target.value)} placeholder="bud_…" list="my-budgets" /></label>
      <datalist id="my-budgets">${stored.map((b) => html`<option value=${b.budget_id}>${b.metric}/${b.window}</option>`)}</datalist>
      <label>Amount <input data-testid="quota-amount" required type="number" min="1" value=${amountText} onInput=${(e) => setAmount(e.target.value)} /></label>
      <label class="wide">Why <input data-testid="quota-why" required value=${justification} onInput=${(e) => setJustification(e.target.value)} /></label>
      <button type="submit">Request</button>
      ${sent ? html`<span class="ok" data-testid="quota-sent">Sent (${sent.id}).</span>` : null}
      <${ErrorLine} error=${error} />
    </form>`;
}

export function SelfService() {
  const [sessionId, setSessionId] = useState('');
  const { data, error, reload } = useLive(() => loadMine(sessionId), [sessionId]);
  if (!data) return error ? html`<${ErrorLine} error=${error} />` : html`<${Loading} />`;
  const { usage, month, history, requests } = data;
  return html`
    <div class="grid stats">
      <${Stat} label="Today (UTC day)" testId="my-today" raw=${usage.today.cost_micros} value=${money(usage.today.cost_micros)} hint=${`${num(usage.today.requests)} requests · ${num(usage.today.tokens)} tokens`} />
      <${Stat} label="This month" testId="my-month" raw=${month.total.cost_micros} value=${money(month.total.cost_micros)} hint=${`${num(month.total.requests)} requests`} />
      <${Stat} label="This session" testId="my-session" raw=${usage.session?.cost_micros} value=${usage.session ? money(usage.session.cost_micros) : '—'}
        hint=${html`<input class="small" placeholder="x-session-id" value=${sessionId} onChange=${(e) => setSessionId(e.target.value)} />`} />
    </div>
    <${Card} title="My budgets" testId="my-budgets">
      <${Table} empty="No budget applies to this key." columns=${[
        { label: 'Budget', render: (b) => `${b.scope} ${b.scope_id} · ${b.metric}/${b.window}` },
        { label: 'Used', render: (b) => html`${amount(b.metric, b.used)} of ${amount(b.metric, b.limit)}<${Progress} used=${b.used} limit=${b.limit} />` },
        { label: 'Remaining', render: (b) => amount(b.metric, b.remaining) },
        { label: 'Resets', render: (b) => when(b.resets_at) },
      ]} rows=${usage.budgets} />
    </${Card}>
    <${Card} title="My spend by day (30 days)"><${LineChart} testId="my-history" points=${history.data.map((d) => ({ x: d.day.slice(5), y: d.cost_micros }))} format=${money} /></${Card}>
    <${Card} title="My alert thresholds" testId="my-thresholds"><${Thresholds} /></${Card}>
    <${Card} title="Ask for more quota" testId="my-quota">
      <${QuotaForm} budgets=${usage.budgets} onDone=${reload} />
      <${Table} empty="No requests yet." columns=${[
        { label: 'Budget', key: 'budgetId' }, { label: 'Amount', key: 'amount' }, { label: 'Status', key: 'status' }, { label: 'Reason', render: (r) => r.reason ?? '' },
      ]} rows=${requests} />
    </${Card}>`;
}
