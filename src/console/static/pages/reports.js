// Reports: GET /admin/v1/reports for an org, team, user or key over a month or days, downloaded
// as CSV, HTML or PDF (fetched with the session, saved from a blob: URL of this origin).
import { html, useState } from '../vendor/preact-htm.js';
import { admin } from '../api.js';
import { Card, ErrorLine } from '../components.js';
import { localToday, timeZone } from '../format.js';

const extensions = { csv: 'csv', html: 'html', pdf: 'pdf', json: 'json' };

export function Reports({ orgId }) {
  const [scope, setScope] = useState('org');
  const [scopeId, setScopeId] = useState('');
  const [period, setPeriod] = useState(localToday().slice(0, 7));
  const [format, setFormat] = useState('csv');
  const [error, setError] = useState(null);
  const [link, setLink] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      const blob = await admin.blob('/reports', { org: orgId, ...(scope === 'org' ? {} : { [scope]: scopeId }), period, tz: timeZone(), format });
      if (link) URL.revokeObjectURL(link.url);
      const url = URL.createObjectURL(blob);
      setLink({ url, name: `tollgate-${scope === 'org' ? orgId : scopeId}-${period}.${extensions[format]}` });
      const a = document.createElement('a');
      a.href = url;
      a.download = `tollgate-${scope === 'org' ? orgId : scopeId}-${period}.${extensions[format]}`;
      a.click();
    } catch (err) {
      setError(err);
    }
  };
  return html`
    <${Card} title="Download a usage report">
      <form class="inline-form" onSubmit=${submit} data-testid="report-form">
        <label>Scope <select value=${scope} onChange=${(e) => setScope(e.target.value)}><option>org</option><option>team</option><option>user</option><option>key</option></select></label>
        ${scope === 'org' ? null : html`<label>Id <input required value=${scopeId} onInput=${(e) => setScopeId(e.target.value)} /></label>`}
        <label>Month <input type="month" required value=${period} onInput=${(e) => setPeriod(e.target.value)} /></label>
        <label>Format <select data-testid="report-format" value=${format} onChange=${(e) => setFormat(e.target.value)}><option value="csv">CSV</option><option value="html">HTML</option><option value="pdf">PDF</option><option value="json">JSON</option></select></label>
        <button type="submit" data-testid="report-download">Download</button>
      </form>
      ${link ? html`<p>Ready: <a href=${link.url} download=${link.name} data-testid="report-link">${link.name}</a></p>` : null}
      <${ErrorLine} error=${error} />
    </${Card}>`;
}
