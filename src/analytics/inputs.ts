// What the analyses read, loaded from the ledger's hourly rollups and the control plane: daily
// series per scope, each budget's subjects with their history and current-period use, and the
// facts recommendations weigh. Days are local days of the given zone; an hourly rollup counts
// toward the local day its UTC hour starts in (exact for whole-hour offsets; in +05:30 or +05:45
// zones the half hour around midnight lands on one side, which is noise for trends and spikes).
import { eq, sql, type SQL } from 'drizzle-orm';
import { apiKeys, budgets as budgetsTable, teams as teamsTable, users as usersTable } from '../../drizzle/schema/index.js';
import type { BudgetRule } from '../budget/rules.js';
import { windowSpan } from '../budget/windows.js';
import type { Db } from '../db/database.js';
import { addDays, type DayAmount, dayInZone, daysBetween, denseAmounts } from './days.js';
import type { BudgetFacts, RecommendationInput } from './recommendations.js';
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

const amountOf: Record<SeriesMetric, SQL> = {
  costMicros: sql`sum(r.cost_micros)`,
  tokens: sql`sum(r.prompt_tokens + r.completion_tokens)`,
  // Pass-through calls are in `requests` but no budget counts them.
  requests: sql`sum(r.requests - r.unmetered_requests)`,
};

const subjectOf: Record<SeriesScope, SQL> = {
  org: sql`r.org_id`,
  user: sql`r.user_id`,
  key: sql`r.key_id`,
  model: sql`r.model`,
  team: sql`below.ancestor`,
};

const at = (ms: number) => sql`${new Date(ms).toISOString()}::timestamptz`;
const rowsOf = <T>(result: unknown) => (result as { rows: T[] }).rows;

// Amount per subject and local day from fromMs to untilMs. A team counts every team below it, as
// its budget does.
export async function dailyAmountsBySubject(
  db: Db,
  orgId: string,
  query: { scope: SeriesScope; metric: SeriesMetric; timeZone: string; fromMs: number; untilMs: number; subjectId?: string | undefined },
): Promise<Map<string, DayAmount[]>> {
  const { scope, metric, timeZone, fromMs, untilMs, subjectId } = query;
  const teamJoin =
    scope === 'team'
      ? sql`join below on below.team_id = r.team_id`
      : sql``;
  // union, not union all: a parent cycle made by hand ends instead of looping.
  const below = sql`with recursive below(team_id, ancestor) as (
      select id, id from teams where org_id = ${orgId}
      union select below.team_id, t.parent_id from below join teams t on t.id = below.ancestor where t.parent_id is not null)`;
  const result = await db.execute(sql`
    ${scope === 'team' ? below : sql``}
    select to_char(r.hour at time zone ${timeZone}, 'YYYY-MM-DD') as day, ${subjectOf[scope]} as subject, ${amountOf[metric]}::bigint as amount
    from usage_rollups_hourly r ${teamJoin}
    where r.org_id = ${orgId} and r.hour >= ${at(fromMs)} and r.hour < ${at(untilMs)}
      ${scope === 'model' ? sql`and r.requests > r.unmetered_requests` : sql``}
      ${subjectId === undefined ? sql`` : sql`and ${subjectOf[scope]} = ${subjectId}`}
    group by 1, 2`);
  const by = new Map<string, DayAmount[]>();
  for (const row of rowsOf<{ day: string; subject: string; amount: string | number }>(result)) {
    const amount = Number(row.amount);
    if (amount !== 0) by.set(row.subject, [...(by.get(row.subject) ?? []), { day: row.day, amount }]);
  }
  return by;
}

// One dense series per subject that used anything, over the complete days of the window.
export async function loadScopeSeries(db: Db, orgId: string, window: AnalysisWindow, scopes: readonly SeriesScope[], metric: SeriesMetric = 'costMicros'): Promise<ScopeSeries[]> {
  const range = dayRange(window);
  const lastDay = addDays(range.today, -1);
  const all = await Promise.all(
    scopes.map(async (scope) => {
      const by = await dailyAmountsBySubject(db, orgId, { scope, metric, timeZone: window.timeZone, fromMs: range.fromMs, untilMs: range.todayStartMs });
      return [...by].map(([scopeId, points]) => ({ scope, scopeId, metric, firstDay: range.firstDay, amounts: denseAmounts(points, range.firstDay, lastDay) }));
    }),
  );
  return all.flat();
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
const ruleScope = (scope: BudgetRule['scope']): SeriesScope => scope;

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

const nextMonth = (month: string): string => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
};

// Each day/month/total rule's subjects with what they used; a '*' rule yields the members that
// used anything in the window, the busiest first, at most maxSubjectsPerRule of them.
export async function loadBudgetSubjects(db: Db, orgId: string, window: Omit<AnalysisWindow, 'timeZone'>, rules: readonly BudgetRuleRef[], options: { totalHorizonDays: number; maxSubjectsPerRule: number }): Promise<BudgetSubject[]> {
  const perRule = await Promise.all(
    rules
      .filter((r) => dailyWindows.has(r.window))
      .map(async (rule) => {
        const range = dayRange({ ...window, timeZone: rule.timezone });
        const lastDay = addDays(range.today, -1);
        const subjectId = rule.scopeId === '*' ? undefined : rule.scopeId;
        const by = await dailyAmountsBySubject(db, orgId, { scope: ruleScope(rule.scope), metric: rule.metric, timeZone: rule.timezone, fromMs: range.fromMs, untilMs: window.asOfMs + 1, subjectId });
        if (subjectId !== undefined && !by.has(subjectId)) by.set(subjectId, []);
        const totals = rule.window === 'total' ? await allTimeTotals(db, orgId, rule, window.asOfMs) : undefined;
        const subjects = [...by].map(([id, points]) => {
          const history = denseAmounts(points, range.firstDay, lastDay);
          const todayAmount = points.filter((p) => p.day === range.today).reduce((s, p) => s + p.amount, 0);
          return { id, history, todayAmount, recent: history.slice(-7).reduce((s, a) => s + a, 0) + todayAmount };
        });
        subjects.sort((a, b) => b.recent - a.recent);
        return subjects.slice(0, options.maxSubjectsPerRule).map((s): BudgetSubject => {
          const monthStart = `${range.today.slice(0, 7)}-01`;
          const sinceMonthStart = s.history.slice(Math.max(0, daysBetween(range.firstDay, monthStart))).reduce((sum, a) => sum + a, 0);
          const byWindow = {
            day: { usedAmount: s.todayAmount, horizonDays: 1, periods: s.history },
            month: { usedAmount: sinceMonthStart + s.todayAmount, horizonDays: daysBetween(range.today, addDays(nextMonth(range.today.slice(0, 7)), -1)) + 1, periods: completeMonths(s.history, range.firstDay) },
            total: { usedAmount: totals?.get(s.id) ?? 0, horizonDays: options.totalHorizonDays, periods: [] },
          }[rule.window as 'day' | 'month' | 'total'];
          return { rule, subjectId: s.id, history: s.history, firstForecastDay: range.today, firstDayShareAhead: range.todayShareAhead, ...byWindow };
        });
      }),
  );
  return perRule.flat();
}

async function allTimeTotals(db: Db, orgId: string, rule: BudgetRuleRef, untilMs: number): Promise<Map<string, number>> {
  const by = await dailyAmountsBySubject(db, orgId, { scope: ruleScope(rule.scope), metric: rule.metric, timeZone: 'UTC', fromMs: 0, untilMs: untilMs + 1, subjectId: rule.scopeId === '*' ? undefined : rule.scopeId });
  return new Map([...by].map(([id, points]) => [id, points.reduce((s, p) => s + p.amount, 0)]));
}

// The recommendations' facts: keys, users and teams of the org with their spend over the last
// usageDays, every budget rule (with the periods of those the ledger can follow), and per-model use.
export async function loadRecommendationInput(
  db: Db,
  orgId: string,
  asOfMs: number,
  usageDays: number,
  rules: readonly BudgetRuleRef[],
  subjects: readonly BudgetSubject[],
): Promise<RecommendationInput> {
  const fromMs = asOfMs - usageDays * dayMs;
  const costBy = async (column: SQL) =>
    new Map(
      rowsOf<{ id: string; cost: string | number }>(
        await db.execute(sql`select ${column} as id, sum(cost_micros)::bigint as cost from usage_rollups_hourly
          where org_id = ${orgId} and hour >= ${at(fromMs)} and hour <= ${at(asOfMs)} group by 1`),
      ).map((r) => [r.id, Number(r.cost)]),
    );
  const [keyRows, userRows, teamRows, keyCost, userCost, modelRows] = await Promise.all([
    db.select().from(apiKeys).where(eq(apiKeys.orgId, orgId)),
    db.select().from(usersTable).where(eq(usersTable.orgId, orgId)),
    db.select({ id: teamsTable.id, parentId: teamsTable.parentId }).from(teamsTable).where(eq(teamsTable.orgId, orgId)),
    costBy(sql`key_id`),
    costBy(sql`user_id`),
    db.execute(sql`select model, sum(requests - unmetered_requests)::bigint as requests, sum(prompt_tokens)::bigint as prompt,
        sum(cached_tokens)::bigint as cached, sum(completion_tokens)::bigint as completion, sum(cost_micros)::bigint as cost
      from usage_rollups_hourly where org_id = ${orgId} and hour >= ${at(fromMs)} and hour <= ${at(asOfMs)}
      group by model having sum(requests - unmetered_requests) > 0`),
  ]);
  const budgets: BudgetFacts[] = rules.map((rule) => ({
    id: rule.id, scope: rule.scope, scopeId: rule.scopeId, metric: rule.metric, window: rule.window, limit: rule.limit, warnPct: rule.warnPct,
    periods: subjects.filter((s) => s.rule === rule).flatMap((s) => s.periods.map((usedAmount) => ({ subjectId: s.subjectId, usedAmount }))),
  }));
  return {
    asOfMs,
    lookbackDays: usageDays,
    keys: keyRows.map((k) => ({
      id: k.id, userId: k.userId, name: k.name, createdAtMs: k.createdAt.getTime(), lastUsedAtMs: k.lastUsedAt?.getTime() ?? null,
      live: k.revokedAt === null && (k.expiresAt === null || k.expiresAt.getTime() > asOfMs), costMicros: keyCost.get(k.id) ?? 0,
    })),
    users: userRows.map((u) => ({ id: u.id, name: u.name, teamId: u.teamId, active: u.active, costMicros: userCost.get(u.id) ?? 0 })),
    teams: teamRows,
    budgets,
    models: rowsOf<{ model: string; requests: string; prompt: string; cached: string; completion: string; cost: string }>(modelRows).map((m) => ({
      model: m.model, requests: Number(m.requests), promptTokens: Number(m.prompt), cachedTokens: Number(m.cached), completionTokens: Number(m.completion), costMicros: Number(m.cost),
    })),
  };
}
