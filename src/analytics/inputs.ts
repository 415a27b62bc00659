// What the analyses read, loaded from the ledger's daily and hourly rollups and the control plane.
// Postgres sums the org's rollups for the look-back per local day and per (user, key) pair (the
// key rollups, a third of the wide ones' rows) and (team, model) pair (the team rollups), one query each per time zone and metric, and returns each pair's days as one row;
// every series, budget subject and spend figure is then added up from those thousand-odd series
// in memory (loading every day, team, user, key and model row, 270k at ten million events, was
// most of a month report's nine seconds). Per-model use and all-time totals are grouped in SQL.
// Days are local days of the zone. In a zone whose days are UTC days the daily rollups answer;
// elsewhere the recent days (today and the exactDays before it) come from hourly rollups, an hour
// counting toward the local day it starts in (exact for whole-hour offsets; in +05:30 or +05:45
// zones the half hour around midnight lands on one side), and older days from the daily rollups
// labelled by their UTC date: each amount is counted once, but an old day is the UTC day nearest
// its local one (a 90-day look-back in hourly rows was most of a month report's time). That is
// noise for trends, and totals never come from here.
import { eq, sql, type SQL } from 'drizzle-orm';
import { apiKeys, budgets as budgetsTable, teams as teamsTable, users as usersTable } from '../../drizzle/schema/index.js';
import type { BudgetRule } from '../budget/rules.js';
import { windowSpan, zoneOffsetMs } from '../budget/windows.js';
import type { Db } from '../db/database.js';
import { type Piece, planSources } from './query-plan.js';
import { readRows } from './read.js';
import { signedRows } from './signed-spans.js';
import { addDays, type DayAmount, dayInZone, daysBetween } from './days.js';
import type { BudgetFacts, ModelUsageFacts, RecommendationInput } from './recommendations.js';
import type { ScopeSeries, SeriesMetric, SeriesScope } from './scope-series.js';

export interface AnalysisWindow {
  readonly asOfMs: number;
  readonly timeZone: string;
  // Complete days of history before today.
  readonly lookbackDays: number;
}

export interface DayRange {
  readonly today: string;
  readonly firstDay: string;
  readonly fromMs: number;
  readonly todayStartMs: number;
  // Share of today still ahead.
  readonly todayShareAhead: number;
}

const dayMs = 86_400_000;
const hourMs = 3_600_000;

export function dayRange({ asOfMs, timeZone, lookbackDays }: AnalysisWindow): DayRange {
  const todaySpan = windowSpan('day', timeZone, asOfMs);
  // Noon of the first day is inside it whatever DST did in between.
  const fromMs = windowSpan('day', timeZone, todaySpan.startMs - lookbackDays * dayMs + dayMs / 2).startMs;
  const today = dayInZone(asOfMs, timeZone);
  return {
    today,
    firstDay: addDays(today, -lookbackDays),
    fromMs,
    todayStartMs: todaySpan.startMs,
    todayShareAhead: (todaySpan.endMs! - asOfMs) / (todaySpan.endMs! - todaySpan.startMs),
  };
}

// The org's rollups from the window's first day up to asOfMs (today's partial day included), in
// one metric, summed per local day in Postgres: one row per (user, key) pair from the key rollups
// and one per (team, model) pair from the team level ones, each a dense series from firstDay to
// today. Every scope's series is a sum of one kind of pair (a team also counts the teams below
// it), so Node adds up about a thousand series instead of every rollup row.
export interface FactsView {
  readonly orgId: string;
  readonly timeZone: string;
  readonly metric: SeriesMetric;
  readonly range: DayRange;
  // Rollup hours from here on are left out (the analysis instant).
  readonly untilMs: number;
  readonly span: DaySpan;
  // Amounts per day, index 0 the first day and the last index today (so far); userKeys is null
  // when the view was loaded without them.
  readonly userKeys: readonly PairDays[] | null;
  readonly teamModels: readonly PairDays[];
  // Each team and every team above it, for team budgets and series that count the teams below.
  readonly ancestors: ReadonlyMap<string, readonly string[]>;
}

export interface PairDays {
  readonly a: string | null;
  readonly b: string;
  readonly amounts: readonly number[];
}

const at = (ms: number) => sql`${new Date(ms).toISOString()}::timestamptz`;

const alwaysUtc = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Etc/Universal', 'Etc/Zulu']);

// True when every local day from fromMs to untilMs is a UTC day (the zone sits at offset 0
// throughout), so the daily rollups, kept per UTC day, hold exactly its days.
function utcAligned(timeZone: string, fromMs: number, untilMs: number): boolean {
  if (alwaysUtc.has(timeZone)) return true;
  for (let t = fromMs; t <= untilMs; t += dayMs) if (zoneOffsetMs(timeZone, t) !== 0) return false;
  return zoneOffsetMs(timeZone, untilMs) === 0;
}

// Local days this close to today are exact in any zone (see the header).
const exactDays = 3;

const utcDayStartMs = (ms: number) => ms - (((ms % dayMs) + dayMs) % dayMs);

// Per (user, key) or per (team, model): the analyses need no finer rows.
export type RollupLevel = 'key' | 'team';

const rollupTablesOf: Record<RollupLevel, { daily: SQL; hourly: SQL }> = {
  key: { daily: sql`usage_rollups_key_daily`, hourly: sql`usage_rollups_key_hourly` },
  team: { daily: sql`usage_rollups_team_daily`, hourly: sql`usage_rollups_team_hourly` },
};

// Pass-through calls are left out of `requests`, as no budget counts them.
export const metricSql: Record<SeriesMetric, SQL> = {
  costMicros: sql`cost_micros`,
  tokens: sql`prompt_tokens + completion_tokens`,
  requests: sql`requests - unmetered_requests`,
};

export interface DaySpan {
  readonly orgId: string;
  readonly timeZone: string;
  readonly fromMs: number;
  // A local midnight: days before it may come from the daily rollups.
  readonly splitMs: number;
  readonly untilMs: number;
}

const hourCeilMs = (ms: number) => Math.ceil(ms / hourMs) * hourMs;

// The recent days from fromMs on, as their hours fall (each hour in the local day it starts in),
// in signed spans (src/analytics/query-plan.ts): a UTC day's daily rows less the hours that begin
// the next local day, and those hours added to it, instead of every hour of every day (at ten
// million events the wide hourly rows are nearly as many as the events).
function recentDayRows(level: RollupLevel, span: DaySpan, fromMs: number, columns: SQL): SQL {
  const startMs = hourCeilMs(fromMs);
  const endMs = hourCeilMs(span.untilMs);
  const pieces: Piece[] = [];
  for (let h = startMs; h < endMs; h += hourMs) {
    const bucketMs = Date.parse(`${dayInZone(h, span.timeZone)}T00:00:00Z`);
    const last = pieces.at(-1);
    if (last?.bucketMs === bucketMs) pieces[pieces.length - 1] = { ...last, toMs: h + hourMs };
    else pieces.push({ fromMs: h, toMs: h + hourMs, bucketMs });
  }
  const plan = planSources(startMs, endMs, pieces, level === 'team' ? 'team' : 'wide');
  const tables = { day: { table: rollupTablesOf[level].daily, time: sql`day` }, hour: { table: rollupTablesOf[level].hourly, time: sql`hour` } };
  const grains = (['day', 'hour'] as const).filter((g) => plan.parts[g]);
  if (grains.length === 0) return sql`select null::date as day, null::bigint as bucket_ms, 0 as sign, null::bigint as span_index, ${columns} from ${tables.day.table} where false`;
  const selects = grains.map((g) => {
    const { table, time } = tables[g];
    const rows = signedRows(plan.parts[g]!, (f, t) => sql`select ${columns} from ${table} where org_id = ${span.orgId} and ${time} >= ${f} and ${time} < ${t}`);
    return sql`select date '1970-01-01' + (x.bucket_ms / ${dayMs})::int as day, x.* from (${rows}) x`;
  });
  return sql.join(selects, sql` union all `);
}

// `columns` of every rollup row of the span with its local day as `day` (a date) and the sign it
// counts with as `sign` (callers sum sign * amount). Days before splitMs come from the daily
// rollups (by UTC date where the zone's days are not UTC days, up to exactDays before splitMs),
// the rest as their hours fall (recentDayRows), so today counts only what happened before the
// analysis instant's hour ended.
export function localDayRows(level: RollupLevel, span: DaySpan, columns: SQL): SQL {
  const { orgId, timeZone, fromMs, splitMs } = span;
  const daily = (from: number, until: number) => sql`select (day at time zone 'UTC')::date as day, null::bigint as bucket_ms, 1 as sign, null::bigint as span_index, ${columns}
        from ${rollupTablesOf[level].daily} where org_id = ${orgId} and day >= ${at(from)} and day < ${at(until)}`;
  const aligned = utcAligned(timeZone, fromMs, splitMs);
  const dailyFromMs = aligned ? fromMs : utcDayStartMs(fromMs);
  const dailyUntilMs = aligned ? splitMs : Math.max(dailyFromMs, utcDayStartMs(splitMs - exactDays * dayMs));
  return dailyUntilMs > dailyFromMs ? sql`${daily(dailyFromMs, dailyUntilMs)} union all ${recentDayRows(level, span, dailyUntilMs, columns)}` : recentDayRows(level, span, fromMs, columns);
}

// One dense series per pair (a, b) of the span's days, firstDay at index 0 and `length` days long;
// days before firstDay (an old UTC day labelled before it) are left out.
async function loadPairDays(db: Db, level: RollupLevel, span: DaySpan, metric: SeriesMetric, firstDay: string, length: number): Promise<PairDays[]> {
  const pair = level === 'key' ? sql`user_id as a, key_id as b` : sql`team_id as a, model as b`;
  const rows = await readRows<{ a: string | null; b: string; days: string }>(
    db,
    sql`select a, b, string_agg((day - ${firstDay}::date) || ':' || amount, ',') as days
      from (select day, a, b, sum(sign * amount)::bigint as amount from (${localDayRows(level, span, sql`${pair}, ${metricSql[metric]} as amount`)}) r group by day, a, b) d
      where amount <> 0 and day >= ${firstDay}::date
      group by a, b`,
  );
  return rows.map((r) => {
    const amounts = new Array<number>(length).fill(0);
    for (const point of r.days.split(',')) {
      const colon = point.indexOf(':');
      const i = Number(point.slice(0, colon));
      if (i < length) amounts[i]! += Number(point.slice(colon + 1));
    }
    return { a: r.a ?? null, b: r.b, amounts };
  });
}

export async function loadTeamAncestors(db: Db, orgId: string): Promise<Map<string, string[]>> {
  const rows = await db.select({ id: teamsTable.id, parentId: teamsTable.parentId }).from(teamsTable).where(eq(teamsTable.orgId, orgId));
  const parent = new Map(rows.map((t) => [t.id, t.parentId]));
  const ancestors = new Map<string, string[]>();
  for (const { id } of rows) {
    const chain: string[] = [];
    // A parent cycle made by hand ends instead of looping.
    for (let t: string | null | undefined = id; t && !chain.includes(t); t = parent.get(t)) chain.push(t);
    ancestors.set(id, chain);
  }
  return ancestors;
}

// `userKeys: false` leaves the (user, key) pairs out: at ten million events they are the key
// rollups' 90k daily rows and most of the view's time, and org and team budgets, the model and
// team series never read them (the console's forecast needs only those).
export async function loadFactsView(
  db: Db,
  orgId: string,
  window: AnalysisWindow,
  ancestors: ReadonlyMap<string, readonly string[]>,
  metric: SeriesMetric = 'costMicros',
  options: { userKeys: boolean } = { userKeys: true },
): Promise<FactsView> {
  const range = dayRange(window);
  const untilMs = window.asOfMs + 1;
  const span: DaySpan = { orgId, timeZone: window.timeZone, fromMs: range.fromMs, splitMs: range.todayStartMs, untilMs };
  const length = daysBetween(range.firstDay, range.today) + 1;
  const [userKeys, teamModels] = await Promise.all([
    options.userKeys ? loadPairDays(db, 'key', span, metric, range.firstDay, length) : null,
    loadPairDays(db, 'team', span, metric, range.firstDay, length),
  ]);
  return { orgId, timeZone: window.timeZone, metric, range, untilMs, span, userKeys, teamModels, ancestors };
}

const userKeysOf = (view: FactsView): readonly PairDays[] => {
  if (!view.userKeys) throw new Error('this facts view was loaded without its (user, key) pairs');
  return view.userKeys;
};

// Which pairs a scope sums and the subjects each pair counts toward.
function subjectsOf(view: FactsView, scope: SeriesScope): { pairs: readonly PairDays[]; of: (p: PairDays) => readonly string[] } {
  switch (scope) {
    case 'org':
      return { pairs: view.teamModels, of: () => [view.orgId] };
    case 'team':
      return { pairs: view.teamModels, of: (p) => (p.a === null ? [] : (view.ancestors.get(p.a) ?? [p.a])) };
    case 'user':
      return { pairs: userKeysOf(view), of: (p) => (p.a === null ? [] : [p.a]) };
    case 'key':
      return { pairs: userKeysOf(view), of: (p) => [p.b] };
    case 'model':
      return { pairs: view.teamModels, of: (p) => [p.b] };
  }
}

// Dense amounts per subject from the first day to today (its partial day last); subjects that
// used nothing are left out.
export function seriesBySubject(view: FactsView, scope: SeriesScope, subjectId?: string): Map<string, number[]> {
  const totals = new Map<string, number[]>();
  const { pairs, of } = subjectsOf(view, scope);
  for (const p of pairs) {
    for (const subject of of(p)) {
      if (subjectId !== undefined && subject !== subjectId) continue;
      const sum = totals.get(subject);
      if (sum) p.amounts.forEach((a, i) => (sum[i]! += a));
      else totals.set(subject, [...p.amounts]);
    }
  }
  for (const [subject, amounts] of totals) if (amounts.every((a) => a === 0)) totals.delete(subject);
  return totals;
}

// Amount per subject and local day with usage (today's partial day included).
export function amountsBySubject(view: FactsView, scope: SeriesScope, subjectId?: string): Map<string, DayAmount[]> {
  const toPoints = (amounts: readonly number[]) => amounts.flatMap((amount, i) => (amount === 0 ? [] : [{ day: addDays(view.range.firstDay, i), amount }]));
  return new Map([...seriesBySubject(view, scope, subjectId)].map(([subject, amounts]) => [subject, toPoints(amounts)]));
}

// One dense series per subject that used anything, over the complete days of the view.
export function scopeSeries(view: FactsView, scopes: readonly SeriesScope[]): ScopeSeries[] {
  return scopes.flatMap((scope) =>
    [...seriesBySubject(view, scope)]
      .map(([scopeId, amounts]) => ({ scope, scopeId, metric: view.metric, firstDay: view.range.firstDay, amounts: amounts.slice(0, -1) }))
      .filter((s) => s.amounts.some((a) => a !== 0)),
  );
}

export interface BudgetRuleRef {
  // Null for a rule from the config file.
  readonly id: string | null;
  readonly scope: BudgetRule['scope'];
  readonly scopeId: string;
  readonly metric: BudgetRule['metric'];
  readonly window: BudgetRule['window'];
  readonly limit: number;
  readonly warnPct: number;
  readonly criticalPct: number;
  readonly timezone: string;
}

// The org's rules: its own rows, plus config rules (defaults of every org, or naming this org)
// that no row of the same scope, id, metric and window replaces.
export async function loadBudgetRules(db: Db, orgId: string, configRules: readonly BudgetRule[] = []): Promise<BudgetRuleRef[]> {
  const rows = await db.select().from(budgetsTable).where(eq(budgetsTable.orgId, orgId));
  const own: BudgetRuleRef[] = rows.map((b) => ({
    id: b.id, scope: b.scope as BudgetRule['scope'], scopeId: b.scopeId, metric: b.metric as BudgetRule['metric'], window: b.window as BudgetRule['window'],
    limit: b.limit, warnPct: b.warnPct, criticalPct: b.criticalPct, timezone: b.timezone,
  }));
  const sameSlot = (a: BudgetRuleRef | BudgetRule, b: BudgetRuleRef | BudgetRule) => a.scope === b.scope && a.scopeId === b.scopeId && a.metric === b.metric && a.window === b.window;
  const defaults = configRules
    .filter((r) => (r.orgId === undefined || r.orgId === orgId) && !own.some((o) => sameSlot(o, r)))
    .map((r) => ({ id: null, scope: r.scope, scopeId: r.scope === 'org' && r.scopeId === '*' ? orgId : r.scopeId, metric: r.metric, window: r.window, limit: r.limit, warnPct: r.warnPct, criticalPct: r.criticalPct, timezone: r.timezone }));
  return [...own, ...defaults];
}

export interface BudgetSubject {
  readonly rule: BudgetRuleRef;
  // The scope id, or one member of the scope for a '*' rule.
  readonly subjectId: string;
  // Complete local days (the rule's zone) before today, oldest first.
  readonly history: readonly number[];
  readonly firstForecastDay: string;
  readonly horizonDays: number;
  readonly firstDayShareAhead: number;
  readonly usedAmount: number;
  // Totals of the complete periods inside the history.
  readonly periods: readonly number[];
}

// Windows the daily ledger can follow; minute, hour and session budgets are left to live alerts.
const dailyWindows = new Set(['day', 'month', 'total']);

const nextMonth = (month: string): string => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
};

function completeMonths(history: readonly number[], firstDay: string): number[] {
  const totals = new Map<string, number>();
  history.forEach((amount, i) => {
    const month = addDays(firstDay, i).slice(0, 7);
    totals.set(month, (totals.get(month) ?? 0) + amount);
  });
  const lastDay = addDays(firstDay, history.length - 1);
  // A month counts when the history holds its first and its last day.
  return [...totals].filter(([month]) => `${month}-01` >= firstDay && addDays(nextMonth(month), -1) <= lastDay).map(([, total]) => total);
}

export interface SubjectOptions {
  readonly totalHorizonDays: number;
  readonly maxSubjectsPerRule: number;
}

// One rule's subjects with what they used, from a view in the rule's zone and metric; a '*' rule
// yields the members that used anything, the busiest of the last week first, at most
// maxSubjectsPerRule. `allTime` holds each subject's all-time amount for a total-window rule.
export function ruleSubjects(view: FactsView, rule: BudgetRuleRef, options: SubjectOptions, allTime?: ReadonlyMap<string, number>): BudgetSubject[] {
  const { range } = view;
  const subjectId = rule.scopeId === '*' ? undefined : rule.scopeId;
  const by = seriesBySubject(view, rule.scope, subjectId);
  if (subjectId !== undefined && !by.has(subjectId)) by.set(subjectId, new Array<number>(daysBetween(range.firstDay, range.today) + 1).fill(0));
  const subjects = [...by].map(([id, amounts]) => {
    const history = amounts.slice(0, -1);
    const todayAmount = amounts.at(-1)!;
    return { id, history, todayAmount, recent: history.slice(-7).reduce((s, a) => s + a, 0) + todayAmount };
  });
  subjects.sort((a, b) => b.recent - a.recent);
  const monthStart = `${range.today.slice(0, 7)}-01`;
  return subjects.slice(0, options.maxSubjectsPerRule).map((s): BudgetSubject => {
    const sinceMonthStart = s.history.slice(Math.max(0, daysBetween(range.firstDay, monthStart))).reduce((sum, a) => sum + a, 0);
    const byWindow = {
      day: { usedAmount: s.todayAmount, horizonDays: 1, periods: s.history },
      month: { usedAmount: sinceMonthStart + s.todayAmount, horizonDays: daysBetween(range.today, addDays(nextMonth(range.today.slice(0, 7)), -1)) + 1, periods: completeMonths(s.history, range.firstDay) },
      total: { usedAmount: allTime?.get(s.id) ?? 0, horizonDays: options.totalHorizonDays, periods: [] },
    }[rule.window as 'day' | 'month' | 'total'];
    return { rule, subjectId: s.id, history: s.history, firstForecastDay: range.today, firstDayShareAhead: range.todayShareAhead, ...byWindow };
  });
}

// Gives (and may share) the view of a zone in a metric.
export type ViewFor = (timeZone: string, metric: SeriesMetric) => Promise<FactsView>;

// Every day/month/total rule's subjects.
export async function loadBudgetSubjects(db: Db, rules: readonly BudgetRuleRef[], viewFor: ViewFor, options: SubjectOptions): Promise<BudgetSubject[]> {
  const followed = rules.filter((r) => dailyWindows.has(r.window));
  const perRule = await Promise.all(
    followed.map(async (rule) => {
      const view = await viewFor(rule.timezone, rule.metric);
      const allTime = rule.window === 'total' ? await allTimeTotals(db, view, rule) : undefined;
      return ruleSubjects(view, rule, options, allTime);
    }),
  );
  return perRule.flat();
}

const subjectColumn: Record<BudgetRuleRef['scope'], { level: RollupLevel; column: SQL }> = {
  org: { level: 'team', column: sql`org_id` },
  team: { level: 'team', column: sql`team_id` },
  user: { level: 'key', column: sql`user_id` },
  key: { level: 'key', column: sql`key_id` },
};

// Each subject's amount over all time up to the analysis instant, summed in Postgres per scope
// member (a team's then added to the teams above it).
async function allTimeTotals(db: Db, view: FactsView, rule: BudgetRuleRef): Promise<Map<string, number>> {
  const todayStartUtcMs = windowSpan('day', 'UTC', view.untilMs - 1).startMs;
  const { level, column } = subjectColumn[rule.scope];
  const span: DaySpan = { orgId: view.orgId, timeZone: 'UTC', fromMs: 0, splitMs: todayStartUtcMs, untilMs: view.untilMs };
  const rows = await readRows<{ s: string | null; amount: string }>(
    db,
    sql`select s, sum(sign * amount)::bigint as amount from (${localDayRows(level, span, sql`${column} as s, ${metricSql[rule.metric]} as amount`)}) r group by s`,
  );
  const totals = new Map<string, number>();
  for (const r of rows) {
    if (r.s === null) continue;
    const subjects = rule.scope === 'team' ? (view.ancestors.get(r.s) ?? [r.s]) : [r.s];
    for (const subject of subjects) totals.set(subject, (totals.get(subject) ?? 0) + Number(r.amount));
  }
  return totals;
}

// Use per model over the view's days from `since` on (today included), summed in Postgres.
async function modelUsage(db: Db, view: FactsView, since: string): Promise<ModelUsageFacts[]> {
  const rows = await readRows<Record<'model' | 'requests' | 'prompt' | 'cached' | 'completion' | 'cost' | 'unstated' | 'unstated_output', string>>(
    db,
    sql`select model, sum(sign * requests)::bigint as requests, sum(sign * prompt)::bigint as prompt, sum(sign * cached)::bigint as cached,
        sum(sign * completion)::bigint as completion, sum(sign * cost)::bigint as cost, sum(sign * unstated)::bigint as unstated, sum(sign * unstated_output)::bigint as unstated_output
      from (${localDayRows('team', view.span, sql`model, requests - unmetered_requests as requests, prompt_tokens as prompt, cached_tokens as cached, completion_tokens as completion,
        cost_micros as cost, max_tokens_unstated_requests as unstated, max_tokens_unstated_output_tokens as unstated_output`)}) r
      where day >= ${since}::date group by model`,
  );
  return rows
    .map((r) => ({
      model: r.model, requests: Number(r.requests), promptTokens: Number(r.prompt), cachedTokens: Number(r.cached), completionTokens: Number(r.completion), costMicros: Number(r.cost),
      uncappedRequests: Number(r.unstated), uncappedCompletionTokens: Number(r.unstated_output),
    }))
    .filter((m) => m.requests > 0);
}

// What each subject of a scope used over the last `days` complete days and today.
function recentTotals(view: FactsView, scope: SeriesScope, days: number): Map<string, number> {
  return new Map([...seriesBySubject(view, scope)].map(([id, amounts]) => [id, amounts.slice(-(days + 1)).reduce((s, a) => s + a, 0)]));
}

// The recommendations' facts: keys, users and teams of the org with their spend over the last
// usageDays days of the view, every budget rule (with the periods of those the ledger can
// follow), and per-model use.
// `view` is in micro-USD.
export async function loadRecommendationInput(db: Db, view: FactsView, asOfMs: number, usageDays: number, rules: readonly BudgetRuleRef[], subjects: readonly BudgetSubject[]): Promise<RecommendationInput> {
  const [keyRows, userRows] = await Promise.all([
    db.select().from(apiKeys).where(eq(apiKeys.orgId, view.orgId)),
    db.select().from(usersTable).where(eq(usersTable.orgId, view.orgId)),
  ]);
  const since = addDays(view.range.today, -usageDays);
  const usage = { keyCost: recentTotals(view, 'key', usageDays), userCost: recentTotals(view, 'user', usageDays), models: await modelUsage(db, view, since) };
  const budgets: BudgetFacts[] = rules.map((rule) => ({
    id: rule.id, scope: rule.scope, scopeId: rule.scopeId, metric: rule.metric, window: rule.window, limit: rule.limit, warnPct: rule.warnPct,
    periods: subjects.filter((s) => s.rule === rule).flatMap((s) => s.periods.map((usedAmount) => ({ subjectId: s.subjectId, usedAmount }))),
  }));
  return {
    asOfMs,
    lookbackDays: usageDays,
    keys: keyRows.map((k) => ({
      id: k.id, userId: k.userId, name: k.name, createdAtMs: k.createdAt.getTime(), lastUsedAtMs: k.lastUsedAt?.getTime() ?? null,
      live: k.revokedAt === null && (k.expiresAt === null || k.expiresAt.getTime() > asOfMs), costMicros: usage.keyCost.get(k.id) ?? 0,
    })),
    users: userRows.map((u) => ({ id: u.id, name: u.name, teamId: u.teamId, active: u.active, costMicros: usage.userCost.get(u.id) ?? 0 })),
    teams: [...view.ancestors].map(([id, chain]) => ({ id, parentId: chain[1] ?? null })),
    budgets,
    models: usage.models,
  };
}
