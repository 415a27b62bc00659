// API keys: list, create (the key is shown once, here), rotate (the new key shown once), revoke.
import { html, useState } from '../vendor/preact-htm.js';
import { admin } from '../api.js';
import { Badge, Card, ErrorLine, Loading, Table } from '../components.js';
import { when } from '../format.js';
import { useLive } from '../live.js';

function ShownOnce({ created, onClose }) {
  return html`
    <div class="once" data-testid="key-once">
      <p><strong>Copy this key now: it is not shown again.</strong></p>
      <code data-testid="key-plaintext">${created.key}</code>
      <button class="link" data-testid="key-once-close" onClick=${onClose}>I have copied it</button>
    </div>`;
}

export function Keys({ orgId }) {
  const { data, error, reload } = useLive(() => admin.get('/keys', { orgId, limit: 200 }), [orgId]);
  const [userId, setUserId] = useState('');
  const [name, setName] = useState('');
  const [shown, setShown] = useState(null);
  const [actionError, setActionError] = useState(null);
  const act = async (work) => {
    setActionError(null);
    try {
      const result = await work();
      // Creation answers the new key itself; rotation answers { key: newKey, previous }.
      const fresh = typeof result?.key === 'string' ? result : typeof result?.key?.key === 'string' ? result.key : null;
      if (fresh) setShown(fresh);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const create = (e) => {
    e.preventDefault();
    act(() => admin.post('/keys', { userId, ...(name ? { name } : {}) }));
  };
  return html`
    <${Card} title="Create a key">
      <form class="inline-form" onSubmit=${create} data-testid="key-form">
        <label>User id <input data-testid="key-user" required value=${userId} onInput=${(e) => setUserId(e.target.value)} placeholder="usr_…" /></label>
        <label>Name <input data-testid="key-name" value=${name} onInput=${(e) => setName(e.target.value)} /></label>
        <button type="submit" data-testid="key-create">Create</button>
      </form>
      ${shown ? html`<${ShownOnce} created=${shown} onClose=${() => setShown(null)} />` : null}
      <${ErrorLine} error=${actionError} />
    </${Card}>
    <${Card} title="Keys">
      ${!data ? (error ? html`<${ErrorLine} error=${error} />` : html`<${Loading} />`) : html`
      <${Table} testId="keys" columns=${[
        { label: 'Prefix', render: (k) => html`<code>${k.prefix}…</code>` },
        { label: 'Name', key: 'name' },
        { label: 'User', key: 'userId' },
        { label: 'State', render: (k) => html`<${Badge} kind=${k.revokedAt ? 'critical' : 'ok'}>${k.revokedAt ? 'revoked' : 'active'}</${Badge}>` },
        { label: 'Last used', render: (k) => when(k.lastUsedAt) },
        { label: '', render: (k) => (k.revokedAt ? null : html`
          <button class="link" data-testid=${`rotate-${k.id}`} onClick=${() => act(() => admin.post(`/keys/${k.id}/rotate`))}>Rotate</button>
          <button class="link danger" data-testid=${`revoke-${k.id}`} onClick=${() => act(() => admin.post(`/keys/${k.id}/revoke`))}>Revoke</button>`) },
      ]} rows=${data.data} />`}
    </${Card}>`;
}
