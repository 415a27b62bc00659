// Usage by who pays: department, cost center and labels (`label:NAME`). The ledger stores user and team, not metadata,
// so these are not columns of the usage query: it runs grouped by user and team as well, and each
// (user, team) row is charged to the user's department, cost center or label, else the nearest
// team up from the event's team that has one, else none, as they were when the usage happened. A change
// takes effect at the next whole UTC hour (chargeback_history keeps the values it replaced until
// then), so the query is split at those hours and each stretch is charged as of its start: exact,
// and every stretch is whole hours the rollups serve. Team nesting is read as it is now. The
// counters are summed exactly; means are request-weighted and percentiles, which do not add up,
// are left out.
import { asc, eq, sql } from 'drizzle-orm';
import { chargebackHistory, teams, users } from '../../drizzle/schema/index.js';
import type { Visibility } from '../control/visibility.js';
import type { Db } from '../db/database.js';
import { labelKey } from '../control/chargeback.js';
import { GatewayError } from '../errors/catalogue.js';
import { type Dimension, type Grouping, parseGrouping } from './dimensions.js';
import { queryUsage, rangeEnd, rangeStart, type UsageMeasures, type UsageQuery, type UsageResult, type UsageRow } from './query.js';

export const chargebackDimensions = ['department', 'cost_center'] as const;
export type ChargebackDimension = (typeof chargebackDimensions)[number] | `label:${string}`;

export type ChargebackFilters = Partial<Record<ChargebackDimension, readonly string[]>>;

export interface ChargebackGrouping extends Grouping {
  readonly chargeback: readonly ChargebackDimension[];
}

// Most (user, team, …) rows read to regroup; past it the answer would not be exact, so it is refused.
const maxSourceRows = 200_000;

const isChargeback = (word: string): word is ChargebackDimension =>
  (chargebackDimensions as readonly string[]).includes(word) || (word.startsWith('label:') && labelKey.safeParse(word.slice('label:'.length)).success);

// `cost_center,model,day`: the chargeback words apart, the rest parsed as any usage grouping.
export function parseChargebackGrouping(text: string): ChargebackGrouping | string {
  const words = text.split(',').map((w) => w.trim()).filter(Boolean);
  const chargeback = words.filter(isChargeback);
  if (new Set(chargeback).size !== chargeback.length) return 'a chargeback dimension is given twice';
  const rest = parseGrouping(words.filter((w) => !isChargeback(w)).join(','));
  return typeof rest === 'string' ? rest : { ...rest, chargeback };
}

export interface Attribution {
  readonly department: string | null;
  readonly cost_center: string | null;
  // Per key, the user's own label, else the nearest team's up the chain.
  readonly labels: Readonly<Record<string, string>>;
}

export const chargedTo = (who: Attribution, dimension: ChargebackDimension): string | null =>
  dimension.startsWith('label:') ? (who.labels[dimension.slice('label:'.length)] ?? null) : who[dimension as (typeof chargebackDimensions)[number]];

type Payer = (userId: string | null, teamId: string | null) => Attribution;

export interface Attributions {
  // Who paid for a (user, team) pair at an instant: the user's own values, else the team chain's nearest.
  at(atMs: number): Payer;
  // The instants at which some attribution of the org changed, ascending.
  readonly changesMs: readonly number[];
}

interface Values {
  readonly department: string | null;
  readonly costCenter: string | null;
  readonly labels: Readonly<Record<string, string>>;
}

export async function loadAttribution(db: Db, orgId: string | null): Promise<Attributions> {
  const userRows = await (orgId ? db.select().from(users).where(eq(users.orgId, orgId)) : db.select().from(users));
  const teamRows = await (orgId ? db.select().from(teams).where(eq(teams.orgId, orgId)) : db.select().from(teams));
  const history = await db
    .select()
    .from(chargebackHistory)
    .where(orgId ? eq(chargebackHistory.orgId, orgId) : undefined)
    .orderBy(asc(chargebackHistory.validUntil), asc(chargebackHistory.id));
  // Per subject, the values each change replaced, oldest first (two changes in one hour: the first
  // row holds what was in force until that hour ended).
  const past = new Map<string, Array<Values & { untilMs: number }>>();
  for (const h of history) {
    const id = h.userId ?? h.teamId!;
    past.set(id, [...(past.get(id) ?? []), { department: h.department, costCenter: h.costCenter, labels: h.labels, untilMs: h.validUntil.getTime() }]);
  }
  const valuesAt = (id: string, now: Values, atMs: number): Values => past.get(id)?.find((p) => p.untilMs > atMs) ?? now;
  const userById = new Map(userRows.map((u) => [u.id, u]));
  const teamById = new Map(teamRows.map((t) => [t.id, t]));
  return {
    changesMs: [...new Set(history.map((h) => h.validUntil.getTime()))],
    at(atMs) {
      const fromTeams = (teamId: string | null, field: 'department' | 'costCenter'): string | null => {
        // Bounded by the number of teams, so a hand-made parent cycle ends.
        for (let id = teamId, hops = 0; id && hops <= teamRows.length; hops++) {
          const team = teamById.get(id);
          if (!team) return null;
          const value = valuesAt(id, team, atMs)[field];
          if (value) return value;
          id = team.parentId;
        }
        return null;
      };
      // The chain's labels, farthest team first, so a nearer team's key overrides.
      const teamLabels = (teamId: string | null): Array<Readonly<Record<string, string>>> => {
        const chain: Array<Readonly<Record<string, string>>> = [];
        for (let id = teamId, hops = 0; id && hops <= teamRows.length; hops++) {
          const team = teamById.get(id);
          if (!team) break;
          chain.unshift(valuesAt(id, team, atMs).labels);
          id = team.parentId;
        }
        return chain;
      };
      return (userId, teamId) => {
        const user = userId ? userById.get(userId) : undefined;
        const own = user ? valuesAt(user.id, user, atMs) : undefined;
        return {
          department: own?.department ?? fromTeams(teamId, 'department'),
          cost_center: own?.costCenter ?? fromTeams(teamId, 'costCenter'),
          labels: Object.assign({}, ...teamLabels(teamId), own?.labels ?? {}),
        };
      };
    },
  };
}

export interface PayerRow {
  readonly row: UsageRow;
  readonly payer: Attribution;
}

// The usage query grouped by user and team besides its own dimensions, each row with who paid for
// it: one query per stretch of the range between attribution changes, totals summed over them.
export async function queryPayers(db: Db, visible: Visibility, q: UsageQuery, orgId: string | null): Promise<{ result: UsageResult; rows: PayerRow[] }> {
  const attributions = await loadAttribution(db, orgId);
  const dimensions: Dimension[] = [...q.dimensions, ...(['user', 'team'] as const).filter((d) => !q.dimensions.includes(d))];
  const whole = { ...q, dimensions };
  let cuts: number[] = [];
  if (attributions.changesMs.length > 0) {
    const [range] = (await db.execute(sql`select (extract(epoch from ${rangeStart(q.from, q.tz)}) * 1000)::bigint as "fromMs", (extract(epoch from ${rangeEnd(q.to, q.tz)}) * 1000)::bigint as "toMs"`) as unknown as { rows: Array<{ fromMs: string; toMs: string }> }).rows;
    cuts = attributions.changesMs.filter((ms) => ms > Number(range!.fromMs) && ms < Number(range!.toMs));
  }
  const iso = (ms: number) => new Date(ms).toISOString();
  const stretches = [q.from, ...cuts.map(iso)].map((from, i) => ({ from, to: i < cuts.length ? iso(cuts[i]!) : q.to }));
  const results = await Promise.all(stretches.map((s) => queryUsage(db, visible, { ...whole, ...s })));
  const rows = results.flatMap((result) => {
    const payer = attributions.at(result.fromMs);
    return result.rows.map((row) => ({ row, payer: payer(row.user ?? null, row.team ?? null) }));
  });
  const first = results[0]!;
  const last = results.at(-1)!;
  const result: UsageResult = results.length === 1 ? first : {
    ...first,
    to: last.to,
    toMs: last.toMs,
    source: results.every((r) => r.source === first.source) ? first.source : 'mixed',
    rows: results.flatMap((r) => r.rows),
    totals: sumMeasures(results.map((r) => r.totals)),
    truncated: results.some((r) => r.truncated),
  };
  return { result, rows };
}

const counted = ['requests', 'errors', 'estimatedRequests', 'unmeteredRequests', 'inputTokens', 'cachedTokens', 'outputTokens', 'reasoningTokens', 'costMicros'] as const;

// Sums rows: counters exactly, the mean latency weighted by requests.
export function sumMeasures(rows: readonly UsageMeasures[]): UsageMeasures {
  const sum = Object.fromEntries(counted.map((k) => [k, rows.reduce((s, r) => s + r[k], 0)])) as Record<(typeof counted)[number], number>;
  const timed = rows.filter((r) => r.latencyMsMean !== null && r.requests > 0);
  const timedRequests = timed.reduce((s, r) => s + r.requests, 0);
  return {
    ...sum,
    estimatedShare: sum.requests === 0 ? 0 : Math.round((sum.estimatedRequests / sum.requests) * 10_000) / 10_000,
    latencyMsMean: timedRequests === 0 ? null : Math.round(timed.reduce((s, r) => s + r.latencyMsMean! * r.requests, 0) / timedRequests),
    latencyMsP50: null,
    latencyMsP95: null,
  };
}

export type ChargebackRow = UsageRow & Partial<Record<ChargebackDimension, string | null>>;
export type ChargebackResult = Omit<UsageResult, 'rows'> & { readonly rows: ChargebackRow[]; readonly chargeback: readonly ChargebackDimension[] };

export interface ChargebackQuery extends UsageQuery {
  readonly chargeback: readonly ChargebackDimension[];
  readonly chargebackFilters: ChargebackFilters;
}

// The usage query grouped (and filtered) by department, cost center and labels besides its own dimensions.
export async function queryChargebackUsage(db: Db, visible: Visibility, q: ChargebackQuery): Promise<ChargebackResult> {
  const orgId = visible.orgId ?? (q.filters.org?.length === 1 ? q.filters.org[0]! : null);
  const { result, rows: charged } = await queryPayers(db, visible, { ...q, source: 'auto', limit: maxSourceRows }, orgId);
  if (result.truncated) throw new GatewayError('invalid_request', `Grouping by ${q.chargeback.join(', ')} needs at most ${maxSourceRows} user and team rows; narrow the range or the filters.`, 'groupBy');
  const filters = Object.entries(q.chargebackFilters).filter(([, v]) => v !== undefined) as Array<[ChargebackDimension, readonly string[]]>;
  const groups = new Map<string, { key: ChargebackRow; rows: UsageRow[] }>();
  const kept: UsageRow[] = [];
  for (const { row, payer: who } of charged) {
    if (!filters.every(([d, values]) => { const v = chargedTo(who, d); return v !== null && values.includes(v); })) continue;
    kept.push(row);
    const key: ChargebackRow = {
      ...(row.bucket !== undefined ? { bucket: row.bucket, bucketStartMs: row.bucketStartMs! } : {}),
      ...Object.fromEntries(q.dimensions.map((d) => [d, row[d] ?? null])),
      ...Object.fromEntries(q.chargeback.map((d) => [d, chargedTo(who, d)])),
    } as ChargebackRow;
    const id = JSON.stringify(key);
    const group = groups.get(id) ?? groups.set(id, { key, rows: [] }).get(id)!;
    group.rows.push(row);
  }
  const rows = [...groups.values()]
    .map((g) => ({ ...g.key, ...sumMeasures(g.rows) }))
    .sort((a, b) => (a.bucketStartMs ?? 0) - (b.bucketStartMs ?? 0) || b.costMicros - a.costMicros || b.requests - a.requests);
  return {
    ...result,
    groupBy: q.dimensions,
    chargeback: q.chargeback,
    rows: rows.slice(0, q.limit),
    totals: filters.length === 0 ? { ...result.totals, latencyMsP50: null, latencyMsP95: null } : sumMeasures(kept),
    truncated: rows.length > q.limit,
  };
}
