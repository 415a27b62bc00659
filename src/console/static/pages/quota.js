// Quota requests: pending first; approve, or deny with a reason.
import { html, useState } from '../vendor/preact-htm.js';
import { admin } from '../api.js';
import { Badge, Card, ErrorLine, Loading, Table } from '../components.js';
import { when } from '../format.js';
import { useLive } from '../live.js';

function Deny({ id, onDone }) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    try {
      await admin.post(`/quota-requests/${id}/deny`, { reason });
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="inline-form" onSubmit=${submit}><input required placeholder="Reason" data-testid=${`deny-reason-${id}`} value=${reason} onInput=${(e) => setReason(e.target.value)} /><button type="submit" data-testid=${`deny-${id}`}>Deny</button><${ErrorLine} error=${error} /></form>`;
}

export function QuotaRequests() {
  const [status, setStatus] = useState('pending');
  const { data, error, reload } = useLive(() => admin.get('/quota-requests', status ? { status } : {}), [status]);
  const [actionError, setActionError] = useState(null);
  const approve = async (id) => {
    setActionError(null);
    try {
      await admin.post(`/quota-requests/${id}/approve`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  return html`
    <${Card} title="Quota requests" actions=${html`<select value=${status} onChange=${(e) => setStatus(e.target.value)}>
        <option value="pending">pending</option><option value="approved">approved</option><option value="denied">denied</option><option value="">all</option></select>`}>
      <${ErrorLine} error=${actionError} />
      ${!data ? (error ? html`<${ErrorLine} error=${error} />` : html`<${Loading} />`) : html`
      <${Table} testId="quota-requests" empty="No requests." columns=${[
        { label: 'User', key: 'userId' },
        { label: 'Budget', key: 'budgetId' },
        { label: 'Amount', key: 'amount' },
        { label: 'Why', key: 'justification' },
        { label: 'Asked', render: (r) => when(r.createdAt) },
        { label: 'Status', render: (r) => html`<${Badge} kind=${r.status === 'approved' ? 'ok' : r.status === 'denied' ? 'critical' : 'warn'}><span data-testid=${`quota-status-${r.id}`}>${r.status}</span></${Badge}>` },
        { label: '', render: (r) => (r.status === 'pending' ? html`<button class="link" data-testid=${`approve-${r.id}`} onClick=${() => approve(r.id)}>Approve</button><${Deny} id=${r.id} onDone=${reload} />` : r.reason ?? '') },
      ]} rows=${data.data} />`}
    </${Card}>`;
}
