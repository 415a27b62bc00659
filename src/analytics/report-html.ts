// The report as one self-contained HTML file: inline CSS, charts as inline SVG, no script, no
// external reference of any kind, so it opens offline and fetches nothing. Every name is escaped
// (team, user, key and tag names are anyone's text).
import { type Chart, dailyCostChart, modelCostChart } from './report-charts.js';
import type { UsageMeasures } from './query.js';
import type { Ranked, Report } from './report-data.js';
import { amount, count, percent, usd } from './report-format.js';

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const n = (x: number) => x.toFixed(1);

export function chartSvg(chart: Chart): string {
  const bars = chart.bars.map((b) => `<rect x="${n(b.x)}" y="${n(b.y)}" width="${n(b.width)}" height="${n(b.height)}"><title>${escape(b.title)}</title></rect>`);
  const labels = chart.labels.map((l) => `<text x="${n(l.x)}" y="${n(l.y)}" text-anchor="${l.anchor}">${escape(l.text)}</text>`);
  const lines = chart.lines.map(([x1, y1, x2, y2]) => `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escape(chart.title)}" width="${chart.width}" height="${chart.height}" viewBox="0 0 ${chart.width} ${chart.height}">${lines.join('')}${bars.join('')}${labels.join('')}</svg>`;
}

const usageHeads = ['Requests', 'Errors', 'Input tokens', 'Cached', 'Output tokens', 'Reasoning', 'Cost'];
const usageCells = (m: UsageMeasures) => [count(m.requests), count(m.errors), count(m.inputTokens), count(m.cachedTokens), count(m.outputTokens), count(m.reasoningTokens), usd(m.costMicros)];

function table(heads: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const head = heads.map((h) => `<th>${escape(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<td>${escape(c)}</td>` : `<td class="num">${escape(c)}</td>`)).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function rankedSection(title: string, r: Ranked, total: number): string {
  const rows = [...r.top.map((l) => [l.name, ...usageCells(l), percent(l.costMicros, total)]), ...(r.rest ? [['(rest)', ...usageCells(r.rest), percent(r.rest.costMicros, total)]] : [])];
  return `<h2>${escape(title)}</h2>${rows.length === 0 ? '<p>No usage.</p>' : table([title.replace('By ', ''), ...usageHeads, 'Share'], rows)}`;
}

const style = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;margin:2rem auto;max-width:1000px;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d8dce4;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{padding:.25rem .5rem;border-bottom:1px solid #eceef2;text-align:left}
td.num,th:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
.totals{display:flex;flex-wrap:wrap;gap:1.5rem}.totals div{min-width:8rem}.totals b{display:block;font-size:1.3rem}
svg rect{fill:#3b6fd8}svg line{stroke:#8a93a6}svg text{font-size:11px;fill:#4a5366}.note{color:#5a6375;font-size:.85rem}`;

export function reportToHtml(report: Report): string {
  const t = report.totals;
  const totals = [
    ['Cost', usd(t.costMicros)], ['Requests', count(t.requests)], ['Errors', count(t.errors)], ['Input tokens', count(t.inputTokens)],
    ['Cached tokens', count(t.cachedTokens)], ['Output tokens', count(t.outputTokens)], ['Reasoning tokens', count(t.reasoningTokens)],
  ].map(([k, v]) => `<div>${escape(k!)}<b>${escape(v!)}</b></div>`);
  const sections = [
    `<h1>${escape(report.title)}</h1>`,
    `<p class="note">Generated ${escape(report.generatedAt)}. Days are local to ${escape(report.tz)}.</p>`,
    `<h2>Totals</h2><div class="totals">${totals.join('')}</div>`,
    `<h2>Cost by day</h2>${chartSvg(dailyCostChart(report.byDay, 960, 240))}`,
    table(['Day', ...usageHeads], report.byDay.map((d) => [d.day, ...usageCells(d)])),
    `<h2>By model</h2>${report.byModel.length ? chartSvg(modelCostChart(report.byModel, 960)) : ''}`,
    table(['Provider / model', ...usageHeads], report.byModel.map((m) => [`${m.provider}/${m.model}`, ...usageCells(m)])),
    rankedSection('By team', report.byTeam, t.costMicros),
    rankedSection('By user', report.byUser, t.costMicros),
    rankedSection('By key', report.byKey, t.costMicros),
    rankedSection('By department', report.byDepartment, t.costMicros),
    rankedSection('By cost center', report.byCostCenter, t.costMicros),
    ...report.byTag.map((g) => rankedSection(`By tag ${g.tag}`, g.lines, t.costMicros)),
    ...report.byLabel.map((g) => rankedSection(`By label ${g.label}`, g.lines, t.costMicros)),
    `<h2>Budgets</h2>${
      report.budgets.length === 0
        ? '<p>No budgets apply.</p>'
        : table(
            ['Budget', 'Window', 'Limit', 'Used', 'Used %', 'Forecast P10', 'P50', 'P90', 'Runs out (P50)', 'Method'],
            report.budgets.map((b) => [`${b.scope} ${b.subject.name} · ${b.metric}`, b.window, amount(b.metric, b.limit), amount(b.metric, b.used), b.limit ? percent(b.used, b.limit) : '', amount(b.metric, b.forecastP10), amount(b.metric, b.forecastP50), amount(b.metric, b.forecastP90), b.runOutDay ?? '', b.method]),
          )
    }`,
    ...(report.anomalies.length
      ? [`<h2>Anomalies</h2>${table(['Day', 'Scope', 'Metric', 'Actual', 'Baseline', 'z'], report.anomalies.map((a) => [a.day, `${a.scope} ${a.scopeId}`, a.metric, amount(a.metric, a.actualAmount), amount(a.metric, a.baselineAmount), a.zScore.toFixed(2)]))}`]
      : []),
    ...(report.recommendations.length
      ? [`<h2>Recommendations</h2><ul>${report.recommendations.map((r) => `<li>${escape(r.message)}${r.savingsMicros ? ` (saves about ${escape(usd(r.savingsMicros))}${r.assumption ? `; ${escape(r.assumption)}` : ''})` : ''}</li>`).join('')}</ul>`]
      : []),
    `<h2>Notes</h2>${report.notes.map((x) => `<p class="note">${escape(x)}</p>`).join('')}`,
  ];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escape(report.title)}</title><style>${style}</style></head><body>${sections.join('\n')}</body></html>\n`;
}
