// Small shared pieces: stat tiles, tables, progress bars, error lines. Sizes are SVG attributes
// and classes, never inline styles, so the strict Content-Security-Policy holds.
import { html } from './vendor/preact-htm.js';

export const Stat = ({ label, value, testId, raw, hint }) => html`
  <div class="stat" data-testid=${testId} data-raw=${raw}>
    <div class="stat-label">${label}</div>
    <div class="stat-value">${value}</div>
    ${hint ? html`<div class="stat-hint">${hint}</div>` : null}
  </div>`;

export const Card = ({ title, children, actions, testId }) => html`
  <section class="card" data-testid=${testId}>
    <header class="card-head"><h2>${title}</h2>${actions ?? null}</header>
    ${children}
  </section>`;

export const ErrorLine = ({ error }) => (error ? html`<p class="error" role="alert">${error.message}</p>` : null);

export const Loading = () => html`<p class="muted">Loading…</p>`;

export function Table({ columns, rows, empty = 'Nothing here.', testId }) {
  if (!rows || rows.length === 0) return html`<p class="muted" data-testid=${testId}>${empty}</p>`;
  return html`
    <table data-testid=${testId}>
      <thead><tr>${columns.map((c) => html`<th>${c.label}</th>`)}</tr></thead>
      <tbody>${rows.map((r, i) => html`<tr key=${r.id ?? i}>${columns.map((c) => html`<td>${c.render ? c.render(r) : r[c.key]}</td>`)}</tr>`)}</tbody>
    </table>`;
}

// A budget bar: the API's used and limit, warn and critical marks when the budget has them.
export function Progress({ used, limit, warnPct, criticalPct }) {
  const pct = limit > 0 ? Math.min(100, (used / limit) * 100) : 100;
  const level = criticalPct && pct >= criticalPct ? 'critical' : warnPct && pct >= warnPct ? 'warn' : 'ok';
  return html`
    <svg class=${`progress ${level}`} viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label=${`${pct.toFixed(0)}% used`}>
      <rect class="progress-track" x="0" y="0" width="100" height="6" />
      <rect class="progress-fill" x="0" y="0" width=${pct} height="6" />
      ${warnPct ? html`<line class="progress-mark" x1=${warnPct} x2=${warnPct} y1="0" y2="6" />` : null}
      ${criticalPct ? html`<line class="progress-mark" x1=${criticalPct} x2=${criticalPct} y1="0" y2="6" />` : null}
    </svg>`;
}

export const Badge = ({ kind, children }) => html`<span class=${`badge ${kind}`}>${children}</span>`;
