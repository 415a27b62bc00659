// What a usage report says, independent of its format: totals, every day of the period, spend by
// model and provider, the top teams, users and keys with the rest summed, and the budgets that
// apply with used, limit and forecast (plus anomalies and recommendations) from src/analytics/analyse.ts.
// Every figure comes from the usage query with the same range and filters, so each section adds
// up to the totals, and the totals to the ledger.
import { inArray } from 'drizzle-orm';
import type { BudgetRule } from '../budget/rules.js';
import type { Catalog } from '../config/catalog.js';
import { apiKeys, orgs, teams, users } from '../../drizzle/schema/index.js';
import { loadTeamChain } from '../control/team-chain.js';
import { teamSubtree } from '../control/teams.js';
import type { Visibility } from '../control/visibility.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import { analyse, type BudgetForecastRecord } from './analyse.js';
import { type ChargebackDimension, chargedTo, type PayerRow, queryPayers, sumMeasures } from './chargeback-usage.js';
import type { ScopeAnomaly } from './anomalies.js';
import { addDays, daysBetween } from './days.js';
import type { ColumnDimension, Dimension, Filters } from './dimensions.js';
import { queryUsage, type UsageMeasures, type UsageQuery } from './query.js';
import type { Recommendation } from './recommendations.js';

export type ReportScopeKind = 'org' | 'team' | 'user' | 'key';

export interface ReportRequest {
  readonly orgId: string;
  // At most one narrower scope; none: the whole org.
  readonly teamId?: string | undefined;
  readonly userId?: string | undefined;
  readonly keyId?: string | undefined;
  // Local calendar days in tz, both included.
  readonly from: string;
  readonly to: string;
  readonly tz: string;
  readonly top: number;
  // Tag names (keys of x-tollgate-tags) to rank usage by, each its own section.
  readonly tagGroups?: readonly string[] | undefined;
  // Label names (the users' and teams' free key-value chargeback metadata), each its own section.
  readonly labelGroups?: readonly string[] | undefined;
  readonly nowMs: number;
  // For model recommendations and the config file's budgets; without them those are left out.
  readonly analytics?: { readonly catalog: Catalog; readonly configRules: readonly BudgetRule[] } | undefined;
}

export interface Named {
  readonly id: string;
  readonly name: string;
}

export type DayLine = UsageMeasures & { readonly day: string };
export type ModelLine = UsageMeasures & { readonly provider: string; readonly model: string };
export type RankedLine = UsageMeasures & Named;

export interface Ranked {
  readonly top: readonly RankedLine[];
  // Everything outside the top (totals minus the top), or null when the top is everything.
  readonly rest: UsageMeasures | null;
}

export interface BudgetLine {
  readonly budgetId: string | null;
  readonly scope: string;
  readonly subject: Named;
  readonly metric: string;
  readonly window: string;
  readonly limit: number | null;
  readonly used: number;
  readonly forecastP10: number;
  readonly forecastP50: number;
  readonly forecastP90: number;
  readonly method: string;
  readonly runOutDay: string | null;
}

export interface Report {
  readonly title: string;
  readonly org: Named;
  readonly scope: Named & { readonly kind: ReportScopeKind };
  readonly from: string;
  readonly to: string;
  readonly tz: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly generatedAt: string;
  readonly totals: UsageMeasures;
  readonly byDay: readonly DayLine[];
  readonly byModel: readonly ModelLine[];
  readonly byTeam: Ranked;
  readonly byUser: Ranked;
  readonly byKey: Ranked;
  // Chargeback: usage charged to the user's department and cost center, else their team's.
  readonly byDepartment: Ranked;
  readonly byCostCenter: Ranked;
  readonly byTag: ReadonlyArray<{ readonly tag: string; readonly lines: Ranked }>;
  // Charged like departments: to the user's label, else the nearest team's.
  readonly byLabel: ReadonlyArray<{ readonly label: string; readonly lines: Ranked }>;
  readonly budgets: readonly BudgetLine[];
  readonly anomalies: readonly ScopeAnomaly[];
  readonly recommendations: readonly Recommendation[];
  readonly notes: readonly string[];
}

const maxDays = 400;
const maxPayerRows = 200_000;
const counted = ['requests', 'errors', 'estimatedRequests', 'unmeteredRequests', 'inputTokens', 'cachedTokens', 'outputTokens', 'reasoningTokens', 'costMicros'] as const;

const zeroMeasures: UsageMeasures = {
  requests: 0, errors: 0, estimatedRequests: 0, unmeteredRequests: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, reasoningTokens: 0, costMicros: 0,
  estimatedShare: 0, latencyMsMean: null, latencyMsP50: null, latencyMsP95: null,
};

// The totals less the listed lines: exact for every counter (means and percentiles are not subtractable).
function remainder(totals: UsageMeasures, lines: readonly UsageMeasures[]): UsageMeasures {
  const rest = { ...zeroMeasures };
  for (const k of counted) rest[k] = totals[k] - lines.reduce((s, l) => s + l[k], 0);
  rest.estimatedShare = rest.requests === 0 ? 0 : Math.round((rest.estimatedRequests / rest.requests) * 10_000) / 10_000;
  return rest;
}

const pick = (m: UsageMeasures): UsageMeasures => ({ ...zeroMeasures, ...Object.fromEntries(Object.keys(zeroMeasures).map((k) => [k, m[k as keyof UsageMeasures]])) });

async function namesOf(db: Db, kind: 'org' | 'team' | 'user' | 'key', ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const table = { org: orgs, team: teams, user: users, key: apiKeys }[kind];
  const rows = await db.select({ id: table.id, name: table.name }).from(table).where(inArray(table.id, [...ids]));
  return new Map(rows.map((r) => [r.id, r.name ?? r.id]));
}

async function scopeOf(db: Db, r: ReportRequest): Promise<Named & { kind: ReportScopeKind }> {
  const narrower = [r.teamId && 'team', r.userId && 'user', r.keyId && 'key'].filter(Boolean) as Array<'team' | 'user' | 'key'>;
  if (narrower.length > 1) throw new GatewayError('invalid_request', 'Give at most one of team, user and key.', narrower[1]!);
  const kind = narrower[0] ?? 'org';
  const id = { org: r.orgId, team: r.teamId, user: r.userId, key: r.keyId }[kind]!;
  const name = (await namesOf(db, kind, [id])).get(id);
  if (name === undefined) throw new GatewayError('not_found', `No ${kind} "${id}".`, kind);
  return { kind, id, name };
}

// Which budget subjects apply to the scope: the scope itself, everything inside it, and the teams
// and org above it (their budgets bound it too).
async function applicableSubjects(db: Db, orgId: string, scope: Named & { kind: ReportScopeKind }): Promise<((b: BudgetForecastRecord) => boolean) | null> {
  if (scope.kind === 'org') return null;
  const userRows = await db.select({ id: users.id, teamId: users.teamId }).from(users).where(inArray(users.orgId, [orgId]));
  const keyRows = await db.select({ id: apiKeys.id, userId: apiKeys.userId }).from(apiKeys).where(inArray(apiKeys.orgId, [orgId]));
  let inside: { teams: string[]; users: string[]; keys: string[] };
  let homeTeam: string | null;
  if (scope.kind === 'team') {
    const subtree = await teamSubtree(db, scope.id);
    const members = userRows.filter((u) => u.teamId && subtree.includes(u.teamId)).map((u) => u.id);
    inside = { teams: subtree, users: members, keys: keyRows.filter((k) => members.includes(k.userId)).map((k) => k.id) };
    homeTeam = scope.id;
  } else {
    const userId = scope.kind === 'user' ? scope.id : keyRows.find((k) => k.id === scope.id)?.userId;
    inside = { teams: [], users: userId ? [userId] : [], keys: scope.kind === 'key' ? [scope.id] : keyRows.filter((k) => k.userId === userId).map((k) => k.id) };
    homeTeam = userRows.find((u) => u.id === userId)?.teamId ?? null;
  }
  const above = await loadTeamChain(db, homeTeam);
  const subjects = { org: [orgId], team: [...inside.teams, ...above], user: inside.users, key: inside.keys };
  return (b) => (subjects[b.scope as keyof typeof subjects] ?? []).includes(b.subjectId);
}

export async function buildReport(db: Db, visible: Visibility, r: ReportRequest): Promise<Report> {
  const days = daysBetween(r.from, r.to) + 1;
  if (days < 1 || days > maxDays) throw new GatewayError('invalid_request', `A report covers 1 to ${maxDays} days.`, 'to');
  if (visible.orgId && visible.orgId !== r.orgId) throw new GatewayError('forbidden', 'That org is outside what your role may see.');
  const scope = await scopeOf(db, r);
  const filters: Filters = { org: [r.orgId], ...(scope.kind === 'org' ? {} : { [scope.kind]: [scope.id] }) };
  const base: Omit<UsageQuery, 'dimensions' | 'bucket' | 'limit'> = { from: r.from, to: r.to, tz: r.tz, filters, source: 'auto' };
  const ranked = (dimension: ColumnDimension) => queryUsage(db, visible, { ...base, dimensions: [dimension], bucket: null, limit: r.top });
  const byDay = queryUsage(db, visible, { ...base, dimensions: [], bucket: 'day', limit: maxDays });
  // The analysis needs only the range's end, so it runs beside the other queries.
  const analysed = byDay.then(async (daily) => {
    const asOfMs = Math.min(r.nowMs, daily.toMs - 1);
    return { asOfMs, analysis: await analyse(db, r.orgId, { asOfMs, timeZone: r.tz, catalog: r.analytics?.catalog, configRules: r.analytics?.configRules ?? [] }) };
  });
  // Awaited below; a query failing first must not leave its rejection unhandled.
  analysed.catch(() => undefined);
  // Users, keys and who paid all come from one query by (key, user, team): at ten million events
  // each of the three read the month's wide rollups (three quarters of an offset zone's report).
  const [daily, models, byTeam, payers, ...tagged] = await Promise.all([
    byDay,
    queryUsage(db, visible, { ...base, dimensions: ['provider', 'model'], bucket: null, limit: 10_000 }),
    ranked('team'),
    queryPayers(db, visible, { ...base, dimensions: ['key'], bucket: null, limit: maxPayerRows }, r.orgId),
    ...(r.tagGroups ?? []).map((tag) => queryUsage(db, visible, { ...base, dimensions: [`tag:${tag}`], bucket: null, limit: r.top })),
  ]);
  if (payers.result.truncated) throw new GatewayError('invalid_request', `The report's scope has more than ${maxPayerRows} key, user and team rows to charge; narrow it.`, 'org');
  const totals = daily.totals;
  const dayRows = new Map(daily.rows.map((row) => [row.bucket!.slice(0, 10), row]));
  const teamNames = await namesOf(db, 'team', byTeam.rows.map((row) => row.team).filter((v): v is string => !!v));
  // A top-N usage query's rows as lines (named where `names` knows the id), the rest summed.
  const rankRows = (result: typeof byTeam, dimension: Dimension, unset: string, names = new Map<string, string>()): Ranked => {
    const top = result.rows.map((row) => {
      const id = row[dimension] ?? null;
      return { ...pick(row), id: id ?? '', name: id === null ? unset : (names.get(id) ?? id) };
    });
    return { top, rest: result.truncated ? remainder(result.totals, top) : null };
  };

  // The payers' rows summed per group (user, key, department...), the top by cost listed and the
  // rest summed, ordered as the usage query orders its rows.
  const rankGroups = async (groupOf: (row: PayerRow) => string | null, unset: string, names?: (ids: string[]) => Promise<Map<string, string>>): Promise<Ranked> => {
    const groups = new Map<string | null, UsageMeasures[]>();
    for (const p of payers.rows) {
      const id = groupOf(p);
      const rows = groups.get(id);
      if (rows) rows.push(p.row);
      else groups.set(id, [p.row]);
    }
    const sorted = [...groups].map(([id, rows]) => ({ id, measures: rows.length === 1 ? pick(rows[0]!) : sumMeasures(rows) }))
      .sort((a, b) => b.measures.costMicros - a.measures.costMicros || b.measures.requests - a.measures.requests || (a.id ?? '').localeCompare(b.id ?? ''));
    const top = sorted.slice(0, r.top);
    const named = names ? await names(top.flatMap((g) => (g.id === null ? [] : [g.id]))) : new Map<string, string>();
    const lines = top.map((g) => ({ ...g.measures, id: g.id ?? '', name: g.id === null ? unset : (named.get(g.id) ?? g.id) }));
    return { top: lines, rest: sorted.length > r.top ? remainder(payers.result.totals, lines) : null };
  };
  const byPayer = (dimension: ChargebackDimension) =>
    rankGroups((p) => chargedTo(p.payer, dimension), dimension.startsWith('label:') ? `(no ${dimension.slice('label:'.length)} label)` : `(no ${dimension.replace('_', ' ')})`);
  const [byUser, byKey, byDepartment, byCostCenter, ...byLabel] = await Promise.all([
    rankGroups((p) => p.row.user ?? null, '(no user)', (ids) => namesOf(db, 'user', ids)),
    rankGroups((p) => p.row.key ?? null, '(no key)', (ids) => namesOf(db, 'key', ids)),
    byPayer('department'),
    byPayer('cost_center'),
    ...(r.labelGroups ?? []).map((label) => byPayer(`label:${label}`)),
  ]);
  const byTag = (r.tagGroups ?? []).map((tag, i) => ({ tag, lines: rankRows(tagged[i]!, `tag:${tag}`, `(no ${tag} tag)`) }));

  const orgName = (await namesOf(db, 'org', [r.orgId])).get(r.orgId) ?? r.orgId;
  const { asOfMs, analysis } = await analysed;
  const applies = await applicableSubjects(db, r.orgId, scope);
  const forecasts = (analysis.forecasts ?? []).filter((b) => applies?.(b) ?? true);
  const subjectNames = {
    org: new Map([[r.orgId, orgName]]),
    team: await namesOf(db, 'team', forecasts.filter((b) => b.scope === 'team').map((b) => b.subjectId)),
    user: await namesOf(db, 'user', forecasts.filter((b) => b.scope === 'user').map((b) => b.subjectId)),
    key: await namesOf(db, 'key', forecasts.filter((b) => b.scope === 'key').map((b) => b.subjectId)),
  };
  const budgets = forecasts.map((b): BudgetLine => ({
    budgetId: b.budgetId,
    scope: b.scope,
    subject: { id: b.subjectId, name: subjectNames[b.scope as keyof typeof subjectNames]?.get(b.subjectId) ?? b.subjectId },
    metric: b.metric,
    window: b.window,
    limit: b.forecast.limitAmount,
    used: b.forecast.usedAmount,
    forecastP10: b.forecast.endOfPeriod.p10Amount,
    forecastP50: b.forecast.endOfPeriod.p50Amount,
    forecastP90: b.forecast.endOfPeriod.p90Amount,
    method: b.forecast.method,
    runOutDay: b.forecast.runOutDay,
  }));
  const inScope = (kind: string, id: string) => applies === null || applies({ scope: kind, subjectId: id } as BudgetForecastRecord);
  const anomalies = (analysis.anomalies ?? []).filter((a) => a.day >= r.from && a.day <= r.to && (a.scope === 'model' ? scope.kind === 'org' : inScope(a.scope, a.scopeId)));
  const recommendations = (analysis.recommendations ?? []).filter((x) => scope.kind === 'org' || ((x.subject.type === 'key' || x.subject.type === 'user') && inScope(x.subject.type, x.subject.id)));

  return {
    title: `Usage report: ${orgName}${scope.kind === 'org' ? '' : ` / ${scope.kind} ${scope.name}`}, ${r.from} to ${r.to} (${r.tz})`,
    org: { id: r.orgId, name: orgName },
    scope,
    from: r.from,
    to: r.to,
    tz: r.tz,
    fromMs: daily.fromMs,
    toMs: daily.toMs,
    generatedAt: new Date(r.nowMs).toISOString(),
    totals: pick(totals),
    byDay: Array.from({ length: days }, (_, i) => {
      const day = addDays(r.from, i);
      const row = dayRows.get(day);
      return { day, ...(row ? pick(row) : zeroMeasures) };
    }),
    byModel: models.rows.map((row) => ({ provider: row.provider!, model: row.model!, ...pick(row) })),
    byTeam: rankRows(byTeam, 'team', '(no team)', teamNames),
    byUser,
    byKey,
    byDepartment,
    byCostCenter,
    byTag,
    byLabel: (r.labelGroups ?? []).map((label, i) => ({ label, lines: byLabel[i]! })),
    budgets,
    anomalies,
    recommendations,
    notes: [
      'Costs are integer micro-USD (1 USD = 1,000,000) as the ledger records them; input tokens include cached reads and cache writes, output tokens include reasoning.',
      `Budgets, forecasts and anomalies as of ${new Date(asOfMs).toISOString()}${r.analytics ? '' : '; budgets from the config file alone and model recommendations are not included'}.`,
    ],
  };
}
