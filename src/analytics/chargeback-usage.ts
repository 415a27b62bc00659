// Usage by who pays: department and cost center. The ledger stores user and team, not metadata
// (metadata changes; a row's attribution follows the current values), so these are not columns of
// the usage query: it runs grouped by user and team as well, and each (user, team) row is charged
// to the user's own department and cost center, else the nearest team up from the event's team
// that has one, else none. The counters are summed exactly; means are request-weighted and
// percentiles, which do not add up, are left out.
import { eq } from 'drizzle-orm';
import { teams, users } from '../../drizzle/schema/index.js';
import type { Visibility } from '../control/visibility.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import { type Dimension, type Grouping, parseGrouping } from './dimensions.js';
import { queryUsage, type UsageMeasures, type UsageQuery, type UsageResult, type UsageRow } from './query.js';

export const chargebackDimensions = ['department', 'cost_center'] as const;
export type ChargebackDimension = (typeof chargebackDimensions)[number];

export type ChargebackFilters = Partial<Record<ChargebackDimension, readonly string[]>>;

export interface ChargebackGrouping extends Grouping {
  readonly chargeback: readonly ChargebackDimension[];
}

// Most (user, team, …) rows read to regroup; past it the answer would not be exact, so it is refused.
const maxSourceRows = 200_000;

const isChargeback = (word: string): word is ChargebackDimension => (chargebackDimensions as readonly string[]).includes(word);

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
}

// Who pays for a (user, team) pair: the user's own values, else the team chain's nearest.
export async function loadAttribution(db: Db, orgId: string | null): Promise<(userId: string | null, teamId: string | null) => Attribution> {
  const userRows = await (orgId ? db.select().from(users).where(eq(users.orgId, orgId)) : db.select().from(users));
  const teamRows = await (orgId ? db.select().from(teams).where(eq(teams.orgId, orgId)) : db.select().from(teams));
  const userById = new Map(userRows.map((u) => [u.id, u]));
  const teamById = new Map(teamRows.map((t) => [t.id, t]));
  const fromTeams = (teamId: string | null, field: 'department' | 'costCenter'): string | null => {
    // Bounded by the number of teams, so a hand-made parent cycle ends.
    for (let id = teamId, hops = 0; id && hops <= teamRows.length; hops++) {
      const team = teamById.get(id);
      if (!team) return null;
      if (team[field]) return team[field];
      id = team.parentId;
    }
    return null;
  };
  return (userId, teamId) => {
    const user = userId ? userById.get(userId) : undefined;
    return {
      department: user?.department ?? fromTeams(teamId, 'department'),
      cost_center: user?.costCenter ?? fromTeams(teamId, 'costCenter'),
    };
  };
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

// The usage query grouped (and filtered) by department and cost center besides its own dimensions.
export async function queryChargebackUsage(db: Db, visible: Visibility, q: ChargebackQuery): Promise<ChargebackResult> {
  const dimensions: Dimension[] = [...q.dimensions, ...(['user', 'team'] as const).filter((d) => !q.dimensions.includes(d))];
  const result = await queryUsage(db, visible, { ...q, dimensions, source: 'auto', limit: maxSourceRows });
  if (result.truncated) throw new GatewayError('invalid_request', `Grouping by ${q.chargeback.join(', ')} needs at most ${maxSourceRows} user and team rows; narrow the range or the filters.`, 'groupBy');
  const attribute = await loadAttribution(db, visible.orgId ?? (q.filters.org?.length === 1 ? q.filters.org[0]! : null));
  const filters = Object.entries(q.chargebackFilters).filter(([, v]) => v !== undefined) as Array<[ChargebackDimension, readonly string[]]>;
  const groups = new Map<string, { key: ChargebackRow; rows: UsageRow[] }>();
  const kept: UsageRow[] = [];
  for (const row of result.rows) {
    const who = attribute(row.user ?? null, row.team ?? null);
    if (!filters.every(([d, values]) => who[d] !== null && values.includes(who[d]))) continue;
    kept.push(row);
    const key: ChargebackRow = {
      ...(row.bucket !== undefined ? { bucket: row.bucket, bucketStartMs: row.bucketStartMs! } : {}),
      ...Object.fromEntries(q.dimensions.map((d) => [d, row[d] ?? null])),
      ...Object.fromEntries(q.chargeback.map((d) => [d, who[d]])),
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
