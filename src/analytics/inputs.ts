// What the analyses read, loaded from the ledger's daily and hourly rollups and the control plane.
// One query per time zone reads the org's rollups for the look-back as daily facts (a row per day,
// team, user, key and model); every series, budget subject and spend figure is then summed from
// those facts in memory, so a full analysis scans the rollups once instead of once per scope and rule.
// Days are local days of the zone. In a zone whose days are UTC days the daily rollups answer;
// elsewhere the recent days (today and the exactDays before it) come from hourly rollups, an hour
// counting toward the local day it starts in (exact for whole-hour offsets; in +05:30 or +05:45
// zones the half hour around midnight lands on one side), and older days from the daily rollups
// labelled by their UTC date: each amount is counted once, but an old day is the UTC day nearest
// its local one (a 90-day look-back in hourly rows was most of a month report's time). That is
// noise for trends, and totals never come from here.
import { eq, sql } from 'drizzle-orm';
import { apiKeys, budgets as budgetsTable, teams as teamsTable, users as usersTable } from '../../drizzle/schema/index.js';
import type { BudgetRule } from '../budget/rules.js';
import { windowSpan, zoneOffsetMs } from '../budget/windows.js';
import type { Db } from '../db/database.js';
import { addDays, type DayAmount, dayInZone, daysBetween, denseAmounts } from './days.js';
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

// One day of one (team, user, key, model); pass-through calls are left out of `requests`, as no
// budget counts them.
export interface DailyFact {
  readonly day: string;
  readonly teamId: string | null;
  readonly userId: string;
  readonly keyId: string;
  readonly model: string;
  readonly requests: number;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly completionTokens: number;
  readonly costMicros: number;
}

// The org's rollups from the window's first day up to asOfMs (today's partial day included).
export interface FactsView {
  readonly orgId: string;
  readonly timeZone: string;
  readonly range: DayRange;
  // Rollup hours from here on are left out (the analysis instant).
  readonly untilMs: number;
  readonly facts: readonly DailyFact[];
  // Each team and every team above it, for team budgets and series that count the teams below.
  readonly ancestors: ReadonlyMap<string, readonly string[]>;
}

const at = (ms: number) => sql`${new Date(ms).toISOString()}::timestamptz`;
const rowsOf = <T>(result: unknown) => (result as { rows: T[] }).rows;

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

// Days before splitMs (a local midnight) come from the daily rollups (by UTC date where the
// zone's days are not UTC days, up to exactDays before splitMs), the rest from the hourly ones,
// so today counts only what happened before the analysis instant.
export async function loadDailyFacts(db: Db, orgId: string, timeZone: string, fromMs: number, splitMs: number, untilMs: number): Promise<DailyFact[]> {
  const sums = sql`sum(requests - unmetered_requests)::bigint as requests, sum(prompt_tokens)::bigint as prompt,
    sum(cached_tokens)::bigint as cached, sum(completion_tokens)::bigint as completion, sum(cost_micros)::bigint as cost`;
  const hourly = (from: number) => sql`
    select (hour at time zone ${timeZone})::date as day, team_id, user_id, key_id, model, ${sums}
    from usage_rollups_hourly where org_id = ${orgId} and hour >= ${at(from)} and hour < ${at(untilMs)}
    group by 1, 2, 3, 4, 5`;
  const daily = (from: number, until: number) => sql`select (day at time zone 'UTC')::date as day, team_id, user_id, key_id, model, ${sums}
        from usage_rollups_daily where org_id = ${orgId} and day >= ${at(from)} and day < ${at(until)}
        group by 1, 2, 3, 4, 5`;
  const aligned = utcAligned(timeZone, fromMs, splitMs);
  const dailyFromMs = aligned ? fromMs : utcDayStartMs(fromMs);
  const dailyUntilMs = aligned ? splitMs : Math.max(dailyFromMs, utcDayStartMs(splitMs - exactDays * dayMs));
  const query = dailyUntilMs > dailyFromMs ? sql`${daily(dailyFromMs, dailyUntilMs)} union all ${hourly(dailyUntilMs)}` : hourly(fromMs);
  // Grouping by a date (not its text) and with room to hash in memory: with the default work_mem,
  // 860k hourly rows were sorted on disk by text keys (3.4 s on the bench box instead of well
  // under one).
  const result = await db.transaction(async (tx) => {
    await tx.execute(sql`set local work_mem = '64MB'`);
    return tx.execute(sql`select day::text as day, team_id, user_id, key_id, model, requests, prompt, cached, completion, cost from (${query}) daily`);
  });
  return rowsOf<Record<string, string | null>>(result).map((r) => ({
    day: r.day!, teamId: r.team_id ?? null, userId: r.user_id!, keyId: r.key_id!, model: r.model!,
    requests: Number(r.requests), promptTokens: Number(r.prompt), cachedTokens: Number(r.cached), completionTokens: Number(r.completion), costMicros: Number(r.cost),
  }));
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

export async function loadFactsView(db: Db, orgId: string, window: AnalysisWindow, ancestors: ReadonlyMap<string, readonly string[]>): Promise<FactsView> {
  const range = dayRange(window);
  const untilMs = window.asOfMs + 1;
  return { orgId, timeZone: window.timeZone, range, untilMs, facts: await loadDailyFacts(db, orgId, window.timeZone, range.fromMs, range.todayStartMs, untilMs), ancestors };
}

const amountOf: Record<SeriesMetric, (f: DailyFact) => number> = {
  costMicros: (f) => f.costMicros,
  tokens: (f) => f.promptTokens + f.completionTokens,
  requests: (f) => f.requests,
};

function subjectsOf(view: FactsView, scope: SeriesScope, f: DailyFact): readonly string[] {
  switch (scope) {
    case 'org':
      return [view.orgId];
    case 'team':
      return f.teamId === null ? [] : (view.ancestors.get(f.teamId) ?? [f.teamId]);
    case 'user':
      return [f.userId];
    case 'key':
      return [f.keyId];
    case 'model':
      return [f.model];
  }
}

// Amount per subject and local day (today's partial day included); subjects with none left out.
export function amountsBySubject(view: FactsView, scope: SeriesScope, metric: SeriesMetric, subjectId?: string): Map<string, DayAmount[]> {
  const totals = new Map<string, Map<string, number>>();
  for (const f of view.facts) {
    const amount = amountOf[metric](f);
    if (amount === 0) continue;
    for (const subject of subjectsOf(view, scope, f)) {
      if (subjectId !== undefined && subject !== subjectId) continue;
      const days = totals.get(subject) ?? new Map<string, number>();
      days.set(f.day, (days.get(f.day) ?? 0) + amount);
      totals.set(subject, days);
    }
  }
  return new Map([...totals].map(([subject, days]) => [subject, [...days].map(([day, amount]) => ({ day, amount }))]));
}

// One dense series per subject that used anything, over the complete days of the view.
export function scopeSeries(view: FactsView, scopes: readonly SeriesScope[], metric: SeriesMetric = 'costMicros'): ScopeSeries[] {
  const lastDay = addDays(view.range.today, -1);
  return scopes.flatMap((scope) =>
    [...amountsBySubject(view, scope, metric)]
      .map(([scopeId, points]) => ({ scope, scopeId, metric, firstDay: view.range.firstDay, amounts: denseAmounts(points, view.range.firstDay, lastDay) }))
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

// One rule's subjects with what they used, from a view in the rule's zone; a '*' rule yields the
// members that used anything, the busiest of the last week first, at most maxSubjectsPerRule.
// `allTime` holds each subject's all-time amount for a total-window rule.
export function ruleSubjects(view: FactsView, rule: BudgetRuleRef, options: SubjectOptions, allTime?: ReadonlyMap<string, number>): BudgetSubject[] {
  const { range } = view;
  const lastDay = addDays(range.today, -1);
  const subjectId = rule.scopeId === '*' ? undefined : rule.scopeId;
  const by = amountsBySubject(view, rule.scope, rule.metric, subjectId);
  if (subjectId !== undefined && !by.has(subjectId)) by.set(subjectId, []);
  const subjects = [...by].map(([id, points]) => {
    const history = denseAmounts(points, range.firstDay, lastDay);
    const todayAmount = points.filter((p) => p.day === range.today).reduce((s, p) => s + p.amount, 0);
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

// Every day/month/total rule's subjects; `viewFor` gives (and may share) the view of a zone.
export async function loadBudgetSubjects(db: Db, rules: readonly BudgetRuleRef[], viewFor: (timeZone: string) => Promise<FactsView>, options: SubjectOptions): Promise<BudgetSubject[]> {
  const followed = rules.filter((r) => dailyWindows.has(r.window));
  const perRule = await Promise.all(
    followed.map(async (rule) => {
      const view = await viewFor(rule.timezone);
      const allTime = rule.window === 'total' ? await allTimeTotals(db, view, rule) : undefined;
      return ruleSubjects(view, rule, options, allTime);
    }),
  );
  return perRule.flat();
}

async function allTimeTotals(db: Db, view: FactsView, rule: BudgetRuleRef): Promise<Map<string, number>> {
  const todayStartUtcMs = windowSpan('day', 'UTC', view.untilMs - 1).startMs;
  const all: FactsView = { ...view, facts: await loadDailyFacts(db, view.orgId, 'UTC', 0, todayStartUtcMs, view.untilMs) };
  const by = amountsBySubject(all, rule.scope, rule.metric, rule.scopeId === '*' ? undefined : rule.scopeId);
  return new Map([...by].map(([id, points]) => [id, points.reduce((s, p) => s + p.amount, 0)]));
}

// Spend per key, per user and use per model over the last usageDays complete days and today.
function recentUsage(view: FactsView, usageDays: number) {
  const since = addDays(view.range.today, -usageDays);
  const keyCost = new Map<string, number>();
  const userCost = new Map<string, number>();
  const models = new Map<string, { model: string; requests: number; promptTokens: number; cachedTokens: number; completionTokens: number; costMicros: number }>();
  for (const f of view.facts) {
    if (f.day < since) continue;
    keyCost.set(f.keyId, (keyCost.get(f.keyId) ?? 0) + f.costMicros);
    userCost.set(f.userId, (userCost.get(f.userId) ?? 0) + f.costMicros);
    const m = models.get(f.model) ?? { model: f.model, requests: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0, costMicros: 0 };
    models.set(f.model, { model: f.model, requests: m.requests + f.requests, promptTokens: m.promptTokens + f.promptTokens, cachedTokens: m.cachedTokens + f.cachedTokens, completionTokens: m.completionTokens + f.completionTokens, costMicros: m.costMicros + f.costMicros });
  }
  const modelUsage: ModelUsageFacts[] = [...models.values()].filter((m) => m.requests > 0);
  return { keyCost, userCost, models: modelUsage };
}

// The recommendations' facts: keys, users and teams of the org with their spend over the last
// usageDays days of the view, every budget rule (with the periods of those the ledger can
// follow), and per-model use.
export async function loadRecommendationInput(db: Db, view: FactsView, asOfMs: number, usageDays: number, rules: readonly BudgetRuleRef[], subjects: readonly BudgetSubject[]): Promise<RecommendationInput> {
  const [keyRows, userRows] = await Promise.all([
    db.select().from(apiKeys).where(eq(apiKeys.orgId, view.orgId)),
    db.select().from(usersTable).where(eq(usersTable.orgId, view.orgId)),
  ]);
  const usage = recentUsage(view, usageDays);
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
