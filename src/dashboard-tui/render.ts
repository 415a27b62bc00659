// The dashboard drawn as text: a pure function from what is known to at most `height` lines of at
// most `width` characters, so tests read exactly what a terminal shows and the I/O loop only
// paints. The header (traffic, spend rate) stays on every panel; the body is the chosen panel.
import { type Panel, panels, panelTitles } from './panels.js';
import type { AlertLine, BudgetLine, Section, Snapshot, SpendToday } from './snapshot.js';
import type { Traffic } from './traffic.js';

export interface DashboardView {
  readonly snapshot: Snapshot | null;
  readonly panel: Panel;
  // The last refresh's failure, shown under the figures it could not update.
  readonly error: string | null;
}

export interface ScreenSize {
  readonly width: number;
  readonly height: number;
}

export const money = (micros: number): string => `$${(micros / 1_000_000).toFixed(Math.abs(micros) < 10_000 && micros !== 0 ? 4 : 2)}`;
const count = (n: number): string => Math.round(n).toLocaleString('en-US');
const percent = (share: number | null): string => (share === null ? '-' : `${(share * 100).toFixed(1)}%`);
const latency = (ms: number | null): string => (ms === null ? '-' : Number.isFinite(ms) ? `≤${ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`}` : '>60 s');

export const amount = (metric: BudgetLine['metric'], value: number): string =>
  metric === 'costMicros' ? money(value) : `${count(value)} ${metric === 'tokens' ? 'tok' : 'req'}`;

const fit = (text: string, width: number): string => (text.length <= width ? text : width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`);

// Items separated by three spaces, flowed onto as many lines as the width needs.
function flow(items: readonly string[], width: number): string[] {
  const lines: string[] = [];
  for (const item of items) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 3 + item.length <= width) lines[lines.length - 1] = `${last}   ${item}`;
    else lines.push(item);
  }
  return lines;
}

// Columns padded to their widest cell; the last column gets what width is left and is cut.
function columns(rows: ReadonlyArray<readonly string[]>, width: number, rightAligned: readonly number[] = []): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((row) =>
    fit(
      row.map((cell, i) => (i === row.length - 1 ? cell : rightAligned.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd(),
      width,
    ),
  );
}

function bar(share: number, cells: number): string {
  const filled = Math.min(cells, Math.round(Math.max(0, share) * cells));
  return `${'█'.repeat(filled)}${'░'.repeat(cells - filled)}`;
}

function trafficItems(traffic: Section<Traffic>, spend: Section<SpendToday>): string[] {
  const today = spend.ok ? ` (${money(spend.value.costMicros)} today)` : '';
  if (!traffic.ok) return [`Traffic: ${traffic.reason}`, ...(spend.ok ? [`Spend ${money(spend.value.costMicros)} today`] : [])];
  const t = traffic.value;
  const rate = t.requestsPerSecond === null ? 'measuring…' : `${t.requestsPerSecond.toFixed(1)}/s`;
  return [
    `Requests ${rate} (${count(t.requestsTotal)} total)`,
    `Errors ${percent(t.errorShare)} 5xx`,
    `Refused ${percent(t.refusedShare)} 4xx`,
    `p99 upstream ${latency(t.p99LatencyMs)}`,
    `Spend ${t.spendMicrosPerMinute === null ? '-' : money(t.spendMicrosPerMinute)}/min${today}`,
  ];
}

function budgetRows(section: Section<readonly BudgetLine[]>, width: number, limit: number): string[] {
  if (!section.ok) return [`  ${section.reason}`];
  if (section.value.length === 0) return ['  No budgets with a limit.'];
  const barCells = Math.max(0, Math.min(20, width - 70));
  const rows = section.value.slice(0, limit).map((b) => {
    const share = b.limitAmount > 0 ? b.usedAmount / b.limitAmount : 1;
    return [`${(share * 100).toFixed(0)}%`, ...(barCells > 0 ? [bar(share, barCells)] : []), `${amount(b.metric, b.usedAmount)} of ${amount(b.metric, b.limitAmount)}`, `${b.window}`, `${b.scope} ${b.subject}${b.orgName ? ` (${b.orgName})` : ''}`];
  });
  return columns(rows, width - 2, [0]).map((l) => `  ${l}`);
}

function userRows(section: Section<SpendToday>, width: number, limit: number): string[] {
  if (!section.ok) return [`  ${section.reason}`];
  if (section.value.users.length === 0) return [`  No usage recorded on ${section.value.day} (UTC).`];
  const rows = [['spend', 'requests', 'tokens', 'user'], ...section.value.users.slice(0, limit).map((u) => [money(u.costMicros), count(u.requests), count(u.tokens), u.user])];
  return columns(rows, width - 2, [0, 1, 2]).map((l) => `  ${l}`);
}

function alertRows(section: Section<readonly AlertLine[]>, width: number, limit: number): string[] {
  if (!section.ok) return [`  ${section.reason}`];
  if (section.value.length === 0) return ['  No alerts firing.'];
  const rows = section.value.slice(0, limit).map((a) => [a.severity.toUpperCase(), a.firstSeenAt.slice(11, 19), a.name, a.summary]);
  return columns(rows, width - 2).map((l) => `  ${l}`);
}

function body(snapshot: Snapshot, panel: Panel, width: number, rows: number): string[] {
  const day = snapshot.spend.ok ? ` today (${snapshot.spend.value.day} UTC)` : ' today';
  const firing = snapshot.alerts.ok ? ` (${snapshot.alerts.value.length})` : '';
  if (panel === 'budgets') return ['Budgets nearest their limits', ...budgetRows(snapshot.budgets, width, rows - 1)];
  if (panel === 'users') return [`Top users by spend${day}`, ...userRows(snapshot.spend, width, rows - 2)];
  if (panel === 'alerts') return [`Alerts firing${firing}`, ...alertRows(snapshot.alerts, width, rows - 1)];
  // The overview shares the rows between its three sections.
  const each = Math.max(1, Math.floor((rows - 6) / 3));
  return [
    'Budgets nearest their limits', ...budgetRows(snapshot.budgets, width, each), '',
    `Top users${day}`, ...userRows(snapshot.spend, width, each), '',
    `Alerts firing${firing}`, ...alertRows(snapshot.alerts, width, each),
  ];
}

export function renderDashboard(view: DashboardView, size: ScreenSize): string[] {
  const width = Math.max(20, size.width);
  const { snapshot } = view;
  const updated = snapshot ? `updated ${new Date(snapshot.atMs).toISOString().slice(11, 19)} UTC` : 'connecting…';
  const title = `Tollgate dashboard  ${snapshot?.gateway ?? ''}${snapshot?.org ? `  org ${snapshot.org}` : ''}`;
  const tabs = panels.map((p, i) => (p === view.panel ? `[${i + 1} ${panelTitles[p]}]` : ` ${i + 1} ${panelTitles[p]} `)).join(' ');
  const help = '1-4/tab: panel  q: quit';
  const rule = '─'.repeat(width);
  const head = [
    ...flow([title, updated], width),
    ...flow([tabs, help], width),
    rule,
    ...(snapshot ? flow(trafficItems(snapshot.traffic, snapshot.spend), width) : []),
    ...(view.error ? [`! ${view.error}`] : []),
    rule,
  ].map((l) => fit(l, width));
  const rows = Math.max(0, size.height - head.length);
  const lines = snapshot ? body(snapshot, view.panel, width, rows) : ['Waiting for the first answer from the gateway…'];
  return [...head, ...lines.map((l) => fit(l, width))].slice(0, Math.max(1, size.height));
}
