// The report as a PDF generated in process with pdfkit: the same sections, tables and charts as the
// HTML report, in the PDF standard Helvetica (no font file, no browser), with real text objects so
// `pdftotext` and screen readers get the figures.
import PDFDocument from 'pdfkit';
import { type Chart, dailyCostChart, modelCostChart } from './report-charts.js';
import type { UsageMeasures } from './query.js';
import type { Ranked, Report } from './report-data.js';
import { amount, count, percent, usd } from './report-format.js';

type Doc = InstanceType<typeof PDFDocument>;

const margin = 40;
const pageWidth = 842; // A4 landscape
const pageHeight = 595;
const contentWidth = pageWidth - 2 * margin;
const rowHeight = 14;

function ensureRoom(doc: Doc, height: number): void {
  if (doc.y + height > pageHeight - margin) doc.addPage();
}

function heading(doc: Doc, text: string): void {
  ensureRoom(doc, 60);
  doc.moveDown(0.6).font('Helvetica-Bold').fontSize(12).fillColor('#1d2330').text(text, margin, doc.y);
  doc.moveDown(0.3);
}

// First column left-aligned and wide, the rest right-aligned figures.
function table(doc: Doc, heads: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const firstWidth = Math.min(220, contentWidth * 0.3);
  const otherWidth = (contentWidth - firstWidth) / Math.max(1, heads.length - 1);
  const x = (i: number) => (i === 0 ? margin : margin + firstWidth + (i - 1) * otherWidth);
  const width = (i: number) => (i === 0 ? firstWidth : otherWidth) - 4;
  const line = (cells: readonly string[], bold: boolean) => {
    ensureRoom(doc, rowHeight);
    const y = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8).fillColor('#1d2330');
    cells.forEach((c, i) => doc.text(c, x(i), y, { width: width(i), align: i === 0 ? 'left' : 'right', lineBreak: false, ellipsis: true }));
    doc.x = margin;
    doc.y = y + rowHeight;
  };
  line(heads, true);
  for (const r of rows) line(r, false);
}

function chart(doc: Doc, c: Chart): void {
  const scale = contentWidth / c.width;
  ensureRoom(doc, c.height * scale + 10);
  const ox = margin;
  const oy = doc.y;
  doc.save();
  doc.strokeColor('#8a93a6').lineWidth(0.5);
  for (const [x1, y1, x2, y2] of c.lines) doc.moveTo(ox + x1 * scale, oy + y1 * scale).lineTo(ox + x2 * scale, oy + y2 * scale).stroke();
  for (const b of c.bars) if (b.height > 0) doc.rect(ox + b.x * scale, oy + b.y * scale, b.width * scale, b.height * scale).fill('#3b6fd8');
  doc.restore();
  doc.font('Helvetica').fontSize(7).fillColor('#4a5366');
  for (const l of c.labels) {
    const w = doc.widthOfString(l.text);
    const x = ox + l.x * scale - (l.anchor === 'end' ? w : l.anchor === 'middle' ? w / 2 : 0);
    doc.text(l.text, x, oy + l.y * scale - 7, { lineBreak: false });
  }
  doc.x = margin;
  doc.y = oy + c.height * scale + 6;
}

const usageHeads = ['Requests', 'Errors', 'Input tokens', 'Cached', 'Output tokens', 'Reasoning', 'Cost'];
const usageCells = (m: UsageMeasures) => [count(m.requests), count(m.errors), count(m.inputTokens), count(m.cachedTokens), count(m.outputTokens), count(m.reasoningTokens), usd(m.costMicros)];

function ranked(doc: Doc, title: string, r: Ranked, total: number): void {
  heading(doc, title);
  const rows = [...r.top.map((l) => [l.name, ...usageCells(l), percent(l.costMicros, total)]), ...(r.rest ? [['(rest)', ...usageCells(r.rest), percent(r.rest.costMicros, total)]] : [])];
  if (rows.length === 0) doc.font('Helvetica').fontSize(9).text('No usage.');
  else table(doc, [title.replace('By ', ''), ...usageHeads, 'Share'], rows);
}

export function reportToPdf(report: Report): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', layout: 'landscape', margin, info: { Title: report.title, Creator: 'Tollgate' }, compress: true });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const t = report.totals;
  doc.font('Helvetica-Bold').fontSize(15).fillColor('#1d2330').text(report.title, margin, margin, { width: contentWidth });
  doc.font('Helvetica').fontSize(8).fillColor('#5a6375').text(`Generated ${report.generatedAt}. Days are local to ${report.tz}.`);
  heading(doc, 'Totals');
  table(doc, ['Scope', ...usageHeads], [[`${report.scope.kind} ${report.scope.name}`, ...usageCells(t)]]);
  heading(doc, 'Cost by day');
  chart(doc, dailyCostChart(report.byDay, 960, 240));
  table(doc, ['Day', ...usageHeads], report.byDay.map((d) => [d.day, ...usageCells(d)]));
  heading(doc, 'By model');
  if (report.byModel.length) chart(doc, modelCostChart(report.byModel, 960));
  table(doc, ['Provider / model', ...usageHeads], report.byModel.map((m) => [`${m.provider}/${m.model}`, ...usageCells(m)]));
  ranked(doc, 'By team', report.byTeam, t.costMicros);
  ranked(doc, 'By user', report.byUser, t.costMicros);
  ranked(doc, 'By key', report.byKey, t.costMicros);
  ranked(doc, 'By department', report.byDepartment, t.costMicros);
  ranked(doc, 'By cost center', report.byCostCenter, t.costMicros);
  for (const g of report.byTag) ranked(doc, `By tag ${g.tag}`, g.lines, t.costMicros);
  for (const g of report.byLabel) ranked(doc, `By label ${g.label}`, g.lines, t.costMicros);
  heading(doc, 'Budgets');
  if (report.budgets.length === 0) doc.font('Helvetica').fontSize(9).text('No budgets apply.');
  else
    table(
      doc,
      ['Budget', 'Window', 'Limit', 'Used', 'Used %', 'Forecast P10', 'P50', 'P90', 'Runs out (P50)', 'Method'],
      report.budgets.map((b) => [`${b.scope} ${b.subject.name} · ${b.metric}`, b.window, amount(b.metric, b.limit), amount(b.metric, b.used), b.limit ? percent(b.used, b.limit) : '', amount(b.metric, b.forecastP10), amount(b.metric, b.forecastP50), amount(b.metric, b.forecastP90), b.runOutDay ?? '', b.method]),
    );
  if (report.anomalies.length) {
    heading(doc, 'Anomalies');
    table(doc, ['Day', 'Scope', 'Metric', 'Actual', 'Baseline', 'z'], report.anomalies.map((a) => [a.day, `${a.scope} ${a.scopeId}`, a.metric, amount(a.metric, a.actualAmount), amount(a.metric, a.baselineAmount), a.zScore.toFixed(2)]));
  }
  if (report.recommendations.length) {
    heading(doc, 'Recommendations');
    doc.font('Helvetica').fontSize(9).fillColor('#1d2330');
    for (const r of report.recommendations) doc.text(`• ${r.message}${r.savingsMicros ? ` (saves about ${usd(r.savingsMicros)}${r.assumption ? `; ${r.assumption}` : ''})` : ''}`, margin, doc.y, { width: contentWidth });
  }
  heading(doc, 'Notes');
  doc.font('Helvetica').fontSize(8).fillColor('#5a6375');
  for (const note of report.notes) doc.text(note, margin, doc.y, { width: contentWidth });
  doc.end();
  return done;
}
