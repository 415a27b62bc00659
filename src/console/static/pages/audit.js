// The audit log, newest first, filtered by action, resource, actor and dates.
import { html, useState } from '../vendor/preact-htm.js';
import { admin } from '../api.js';
import { Card, ErrorLine, Loading, Table } from '../components.js';
import { when } from '../format.js';
import { useLive } from '../live.js';

const filterNames = ['action', 'resourceType', 'resourceId', 'actorId', 'since', 'until'];

export function Audit({ orgId }) {
  const [draft, setDraft] = useState({});
  const [filters, setFilters] = useState({});
  const { data, error } = useLive(() => admin.get('/audit', { ...filters, orgId, limit: 200 }), [JSON.stringify(filters), orgId]);
  return html`
    <${Card} title="Filters">
      <form class="inline-form" data-testid="audit-filters" onSubmit=${(e) => { e.preventDefault(); setFilters(draft); }}>
        ${filterNames.map((name) => html`<label>${name} <input type=${name === 'since' || name === 'until' ? 'date' : 'text'} data-testid=${`audit-${name}`} value=${draft[name] ?? ''} onInput=${(e) => setDraft({ ...draft, [name]: e.target.value })} /></label>`)}
        <button type="submit" data-testid="audit-apply">Apply</button>
      </form>
    </${Card}>
    <${Card} title="Entries">
      ${!data ? (error ? html`<${ErrorLine} error=${error} />` : html`<${Loading} />`) : html`
      <${Table} testId="audit" columns=${[
        { label: 'At', render: (r) => when(r.at) },
        { label: 'Actor', render: (r) => `${r.actorType}:${r.actorId} (${r.actorRole})` },
        { label: 'Action', key: 'action' },
        { label: 'Resource', render: (r) => `${r.resourceType} ${r.resourceId}` },
      ]} rows=${data.data} />`}
    </${Card}>`;
}
