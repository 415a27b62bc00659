// A plain SVG line chart (no chart library: a few dozen points need no canvas), with an optional
// P10–P90 band for forecasts. Points are { x: label, y: number, low?, high? }.
import { html } from './vendor/preact-htm.js';

const width = 640;
const height = 180;
const pad = { left: 56, right: 8, top: 8, bottom: 22 };

export function LineChart({ points, format, testId }) {
  if (!points || points.length === 0) return html`<p class="muted" data-testid=${testId}>No data for this period.</p>`;
  const highest = Math.max(0, ...points.map((p) => Math.max(p.y ?? 0, p.high ?? 0)));
  const top = highest || 1;
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const xAt = (i) => pad.left + (points.length === 1 ? innerW / 2 : (i * innerW) / (points.length - 1));
  const yAt = (v) => pad.top + innerH - (v / top) * innerH;
  const line = points.filter((p) => p.y !== null && p.y !== undefined).map((p) => `${xAt(points.indexOf(p))},${yAt(p.y)}`).join(' ');
  const banded = points.map((p, i) => ({ ...p, i })).filter((p) => p.low !== undefined);
  const band = banded.length
    ? [...banded.map((p) => `${xAt(p.i)},${yAt(p.high)}`), ...banded.reverse().map((p) => `${xAt(p.i)},${yAt(p.low)}`)].join(' ')
    : null;
  // All zero: one gridline at 0 rather than fractions of the smallest unit.
  const ticks = highest ? [0, 0.5, 1].map((f) => top * f) : [0];
  const labelEvery = Math.max(1, Math.ceil(points.length / 8));
  return html`
    <svg class="chart" viewBox=${`0 0 ${width} ${height}`} role="img" data-testid=${testId}>
      ${ticks.map((t) => html`<g><line class="grid" x1=${pad.left} x2=${width - pad.right} y1=${yAt(t)} y2=${yAt(t)} /><text class="axis" x=${pad.left - 4} y=${yAt(t) + 4} text-anchor="end">${format(t)}</text></g>`)}
      ${band ? html`<polygon class="band" points=${band} />` : null}
      <polyline class="line" points=${line} />
      ${points.map((p, i) => (p.y === null || p.y === undefined ? null : html`<circle class="dot" cx=${xAt(i)} cy=${yAt(p.y)} r="2.5"><title>${p.x}: ${format(p.y)}</title></circle>`))}
      ${points.map((p, i) => (i % labelEvery === 0 ? html`<text class="axis" x=${xAt(i)} y=${height - 6} text-anchor="middle">${p.x}</text>` : null))}
    </svg>`;
}

export function Bars({ rows, format, testId }) {
  if (!rows || rows.length === 0) return html`<p class="muted" data-testid=${testId}>No usage.</p>`;
  const top = Math.max(1, ...rows.map((r) => r.value));
  return html`
    <ul class="bars" data-testid=${testId}>
      ${rows.map((r) => html`
        <li key=${r.label}>
          <span class="bar-label" title=${r.label}>${r.label}</span>
          <svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none"><rect x="0" y="0" width=${(r.value / top) * 100} height="8" /></svg>
          <span class="bar-value" data-raw=${r.value}>${format(r.value)}</span>
        </li>`)}
    </ul>`;
}
