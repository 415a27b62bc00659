// The report as one tidy CSV table: one row per observation (the total, each day, each model, each
// ranked team/user/key/department/cost center/tag/label value and the rest, each budget), a `section` column saying which, the same
// measure columns throughout. Cells go through the admin export's writer, which neutralises
// formula-like text (a tag or key name starting with =, +, -, @).
import { publicMeasures } from './query.js';
import type { Ranked, Report } from './report-data.js';
import { toCsv } from '../control/csv.js';

const columns = [
  'section', 'day', 'provider', 'model', 'id', 'name',
  'requests', 'errors', 'input_tokens', 'cached_tokens', 'output_tokens', 'reasoning_tokens', 'cost_micros',
  'budget_metric', 'budget_window', 'budget_limit', 'budget_used', 'forecast_p50', 'run_out_day',
] as const;

type CsvRow = Partial<Record<(typeof columns)[number], string | number | null>>;

const ranked = (section: string, r: Ranked): CsvRow[] => [
  ...r.top.map((line) => ({ section, id: line.id, name: line.name, ...publicMeasures(line) })),
  ...(r.rest ? [{ section, name: '(rest)', ...publicMeasures(r.rest) }] : []),
];

export function reportToCsv(report: Report): string {
  const rows: CsvRow[] = [
    { section: 'total', id: report.scope.id, name: report.scope.name, ...publicMeasures(report.totals) },
    ...report.byDay.map((d) => ({ section: 'day', day: d.day, ...publicMeasures(d) })),
    ...report.byModel.map((m) => ({ section: 'model', provider: m.provider, model: m.model, ...publicMeasures(m) })),
    ...ranked('team', report.byTeam),
    ...ranked('user', report.byUser),
    ...ranked('key', report.byKey),
    ...ranked('department', report.byDepartment),
    ...ranked('cost_center', report.byCostCenter),
    ...report.byTag.flatMap((t) => ranked(`tag:${t.tag}`, t.lines)),
    ...report.byLabel.flatMap((l) => ranked(`label:${l.label}`, l.lines)),
    ...report.budgets.map((b) => ({
      section: 'budget', id: b.subject.id, name: b.subject.name, budget_metric: b.metric, budget_window: b.window,
      budget_limit: b.limit, budget_used: b.used, forecast_p50: b.forecastP50, run_out_day: b.runOutDay,
    })),
  ];
  return toCsv(columns, rows);
}
