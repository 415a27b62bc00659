// Alerts: active and recent, acknowledge, resolve, and each alert's history.
import { html, useState } from '../vendor/preact-htm.js';
import { admin } from '../api.js';
import { Badge, Card, ErrorLine, Loading, Table } from '../components.js';
import { when } from '../format.js';
import { useLive } from '../live.js';

function History({ id }) {
  const { data, error } = useLive(() => admin.get(`/alerts/${id}/history`), [id]);
  if (!data) return error ? html`<${ErrorLine} error=${error} />` : html`<${Loading} />`;
  return html`<${Table} testId="alert-history" columns=${[
    { label: 'When', render: (h) => when(h.at) }, { label: 'Event', key: 'event' }, { label: 'By', render: (h) => h.actor ?? '' },
  ]} rows=${data.data ?? data} />`;
}

export function Alerts() {
  const [state, setState] = useState('');
  const { data, error, reload } = useLive(() => admin.get('/alerts', state ? { state, limit: 200 } : { limit: 200 }), [state]);
  const [open, setOpen] = useState(null);
  const [actionError, setActionError] = useState(null);
  const act = async (work) => {
    setActionError(null);
    try {
      await work();
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  return html`
    <${Card} title="Alerts" actions=${html`<select data-testid="alert-state" value=${state} onChange=${(e) => setState(e.target.value)}>
        <option value="">all</option><option value="firing">firing</option><option value="acknowledged">acknowledged</option><option value="resolved">resolved</option></select>`}>
      <${ErrorLine} error=${actionError} />
      ${!data ? (error ? html`<${ErrorLine} error=${error} />` : html`<${Loading} />`) : html`
      <${Table} testId="alerts" empty="No alerts." columns=${[
        { label: 'Severity', render: (a) => html`<${Badge} kind=${a.severity}>${a.severity}</${Badge}>` },
        { label: 'Alert', render: (a) => html`<button class="link" onClick=${() => setOpen(open === a.id ? null : a.id)}>${a.name}</button>` },
        { label: 'Summary', key: 'summary' },
        { label: 'State', render: (a) => html`<span data-testid=${`alert-state-${a.id}`}>${a.state}</span>` },
        { label: 'Last seen', render: (a) => when(a.lastSeenAt) },
        { label: '', render: (a) => html`
          ${a.state === 'firing' ? html`<button class="link" data-testid=${`ack-${a.id}`} onClick=${() => act(() => admin.post(`/alerts/${a.id}/acknowledge`))}>Acknowledge</button>` : null}
          ${a.state !== 'resolved' ? html`<button class="link" data-testid=${`resolve-${a.id}`} onClick=${() => act(() => admin.post(`/alerts/${a.id}/resolve`))}>Resolve</button>` : null}` },
      ]} rows=${data.data} />`}
    </${Card}>
    ${open ? html`<${Card} title=${`History of ${open}`}><${History} id=${open} /></${Card}>` : null}`;
}
