// Usage queries over the ledger: totals grouped by any dimensions and a time bucket in an IANA zone,
// filtered and limited to what the caller may see. Exactness first: each local bucket is the
// signed sum of daily, hourly and 15-minute rollups and raw event spans the plan gives
// (src/analytics/query-plan.ts: rollups are additive, so a +05:30 day is its UTC day plus and
// minus 5.5 hours); tags and latency percentiles come from the raw events alone, and all of it is
// summed by one aggregation. Queries that neither group nor filter by user, key or tag read the
// team level rollups (src/usage/rollup-tables.ts), which have a few hundred rows a day instead of
// thousands.
import { sql, type SQL } from 'drizzle-orm';
import type { Visibility } from '../control/visibility.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import { type ColumnDimension, type Dimension, type Filters, type Grouping, isTagDimension, type TimeBucket } from './dimensions.js';
import { readRows } from './read.js';
import { instant, signedRows } from './signed-spans.js';
import { dayMs, type Grain, type GrainPart, piecesOf, planSources, type QueryPlan, type RollupLevel } from './query-plan.js';

export interface UsageQuery extends Grouping {
  // A calendar day 'YYYY-MM-DD' (local to tz; `to` includes its whole day) or an ISO instant with
  // an offset (`to` excluded).
  readonly from: string;
  readonly to: string;
  readonly tz: string;
  readonly filters: Filters;
  // 'events' reads raw events even when rollups would do, for latency percentiles.
  readonly source: 'auto' | 'events';
  // Most grouped rows returned; totals always cover every row.
  readonly limit: number;
}

export interface UsageMeasures {
  requests: number;
  errors: number;
  estimatedRequests: number;
  unmeteredRequests: number;
  // Prompt tokens, cached reads and cache writes included; cache writes are not stored apart.
  inputTokens: number;
  cachedTokens: number;
  // Reasoning tokens included.
  outputTokens: number;
  reasoningTokens: number;
  costMicros: number;
  // Share of requests whose counts came from Tollgate's tokenizer, 0..1.
  estimatedShare: number;
  latencyMsMean: number | null;
  // Only when the raw events were read (rollups keep the sum alone).
  latencyMsP50: number | null;
  latencyMsP95: number | null;
}

// The counted measures as the public APIs and exports name them (snake case, counts only).
export const publicMeasures = (m: Pick<UsageMeasures, 'requests' | 'errors' | 'inputTokens' | 'cachedTokens' | 'outputTokens' | 'reasoningTokens' | 'costMicros'>) => ({
  requests: m.requests,
  errors: m.errors,
  input_tokens: m.inputTokens,
  cached_tokens: m.cachedTokens,
  output_tokens: m.outputTokens,
  reasoning_tokens: m.reasoningTokens,
  cost_micros: m.costMicros,
});

export type UsageRow = UsageMeasures & {
  // Start of the bucket as a local ISO time with its offset, e.g. 2026-11-01T00:00:00+05:30.
  bucket?: string;
  bucketStartMs?: number;
} & Partial<Record<Dimension, string | null>>;

export interface UsageResult {
  from: string;
  to: string;
  fromMs: number;
  toMs: number;
  tz: string;
  groupBy: readonly Dimension[];
  bucket: TimeBucket | null;
  // Where the rows came from: rollups (daily, hourly, 15-minute), raw events, or both (src/analytics/query-plan.ts).
  source: 'rollups' | 'events' | 'mixed';
  rows: UsageRow[];
  totals: UsageMeasures;
  truncated: boolean;
}

const maxRangeDays = 1_100;
const isDay = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v);

const column: Record<ColumnDimension, SQL> = {
  org: sql`org_id`,
  team: sql`team_id`,
  user: sql`user_id`,
  key: sql`key_id`,
  provider: sql`provider`,
  model: sql`model`,
};

// Per-row measures under one set of names, so one outer aggregation serves every source. Rollup
// rows are summed per group within each span first (a span's rows count toward a bucket as one).
const measureNames = ['requests', 'errors', 'estimated', 'unmetered', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'reasoning_tokens', 'cost_micros', 'latency_ms'] as const;

const rollupSums = sql`sum(requests) as requests, sum(error_requests) as errors, sum(estimated_requests) as estimated, sum(unmetered_requests) as unmetered,
      sum(prompt_tokens) as prompt_tokens, sum(cached_tokens) as cached_tokens, sum(completion_tokens) as completion_tokens,
      sum(reasoning_tokens) as reasoning_tokens, sum(cost_micros) as cost_micros, sum(latency_ms_sum) as latency_ms`;

interface Source {
  readonly table: SQL;
  readonly time: SQL;
  // Rollups are summed per group in each span; events are read row by row (percentiles need them).
  readonly summed: boolean;
}

const rollup = (table: string, time: string): Source => ({ table: sql.raw(table), time: sql.raw(time), summed: true });
const eventSource: Source = { table: sql`usage_events`, time: sql`time`, summed: false };
const eventMeasures = sql`1 as requests, (status >= 400 or error_code is not null)::int as errors, estimated::int as estimated,
      unmetered::int as unmetered, prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, cost_micros, latency_ms`;

// Which table answers each grain at each rollup level (the wide level has no quarter hours).
const grainSources: Record<RollupLevel, Partial<Record<Grain, Source>>> = {
  none: { event: eventSource },
  wide: { day: rollup('usage_rollups_daily', 'day'), hour: rollup('usage_rollups_hourly', 'hour'), event: eventSource },
  team: {
    day: rollup('usage_rollups_team_daily', 'day'),
    hour: rollup('usage_rollups_team_hourly', 'hour'),
    quarter: rollup('usage_rollups_team_15m', 'quarter'),
    event: eventSource,
  },
};

const dayStart = (day: string, tz: string) => sql`(${day}::date)::timestamp at time zone ${tz}`;
export const rangeStart = (v: string, tz: string) => (isDay(v) ? dayStart(v, tz) : sql`${v}::timestamptz`);
export const rangeEnd = (v: string, tz: string) => (isDay(v) ? sql`(${v}::date + 1)::timestamp at time zone ${tz}` : sql`${v}::timestamptz`);

// Postgres refuses a zone it does not know with SQLSTATE 22023; that is the caller's mistake.
async function run<T>(db: Db, query: SQL, tz: string): Promise<T[]> {
  try {
    return await readRows<T>(db, query);
  } catch (error) {
    const text = String((error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message);
    if (/time zone .* not recognized/i.test(text)) throw new GatewayError('invalid_request', `tz: ${tz} is not a time zone the database knows.`, 'tz');
    throw error;
  }
}

const teamLevelDimensions = new Set<Dimension>(['org', 'team', 'provider', 'model']);

// Team level rollups hold no user, key or tag; a developer (whose view is their own user) needs the wide ones.
function rollupLevel(q: UsageQuery, visible: Visibility): RollupLevel {
  if (q.source === 'events' || usesTags(q)) return 'none';
  const teamLevel = visible.userId === null && q.dimensions.every((d) => teamLevelDimensions.has(d)) && !q.filters.user && !q.filters.key;
  return teamLevel ? 'team' : 'wide';
}

// Where the query's local buckets begin between f and t, as date_trunc places rows: days, weeks
// and months begin at local midnights (a local series mapped back to instants); an hour begins
// where its instant's own offset says (date_trunc keeps the offset for hours, so both 01:00s of
// a DST fall-back begin one), found on the 15-minute grid every zone's offset lies on.
function bucketStartsSql(bucket: TimeBucket | null, tz: string): SQL {
  const ms = (v: SQL) => sql`(extract(epoch from ${v}) * 1000)::bigint`;
  if (!bucket) return sql`select null::bigint as start_ms`;
  if (bucket === 'hour') {
    return sql`select distinct ${ms(sql`date_trunc('hour', x, ${tz})`)} as start_ms
      from (select f as x union all select generate_series(date_bin('15 minutes', f, timestamptz '2000-01-01T00:00:00Z'), t - interval '1 millisecond', interval '15 minutes')) g`;
  }
  return sql`select ${ms(sql`(g at time zone ${tz})`)} as start_ms
    from generate_series(date_trunc(${bucket}, f, ${tz}) at time zone ${tz}, t at time zone ${tz}, ${`1 ${bucket}`}::interval) g`;
}

// The range as instants, cut at its local buckets, and which rows answer each piece
// (src/analytics/query-plan.ts), in one statement.
async function planRange(db: Db, q: UsageQuery, level: RollupLevel): Promise<QueryPlan> {
  const rows = await run<{ from_ms: string; to_ms: string; start_ms: string | null }>(
    db,
    sql`select (extract(epoch from r.f) * 1000)::bigint as from_ms, (extract(epoch from r.t_end) * 1000)::bigint as to_ms, x.start_ms
    from (select f, t_end, least(t_end, f + ${`${maxRangeDays} days`}::interval) as t
      from (select ${rangeStart(q.from, q.tz)} as f, ${rangeEnd(q.to, q.tz)} as t_end) given) r
    left join lateral (${bucketStartsSql(q.bucket, q.tz)}) x on r.t_end > r.f and r.t_end - r.f <= ${`${maxRangeDays} days`}::interval`,
    q.tz,
  );
  const fromMs = Number(rows[0]!.from_ms);
  const toMs = Number(rows[0]!.to_ms);
  if (toMs <= fromMs) throw new GatewayError('invalid_request', `to must be after from (${q.from} .. ${q.to}).`, 'to');
  if (toMs - fromMs > maxRangeDays * dayMs) throw new GatewayError('invalid_request', `The range may span at most ${maxRangeDays} days.`, 'to');
  const starts = rows.filter((r) => r.start_ms !== null).map((r) => Number(r.start_ms));
  return planSources(fromMs, toMs, piecesOf(fromMs, toMs, q.bucket, starts), level);
}

const inList = (col: SQL, values: readonly string[]) => (values.length === 0 ? sql`false` : sql`${col} in ${values}`);

// A team and every team below it (union, not union all: a hand-made parent cycle ends).
const teamsUnder = (ids: readonly string[]) =>
  ids.length === 0 ? sql`false` : sql`team_id in (with recursive below(id) as (select id from teams where id in ${ids} union select t.id from teams t join below on t.parent_id = below.id) select id from below)`;

// What the caller may see and asked for.
function conditions(q: UsageQuery, visible: Visibility): SQL[] {
  const where: SQL[] = [];
  if (visible.orgId) where.push(sql`org_id = ${visible.orgId}`);
  if (visible.teamIds) where.push(inList(sql`team_id`, visible.teamIds));
  if (visible.userId !== null) where.push(sql`user_id = ${visible.userId}`);
  const { tags = [], team, ...columns } = q.filters;
  if (team) where.push(teamsUnder(team));
  for (const [dimension, values] of Object.entries(columns) as Array<[ColumnDimension, readonly string[] | undefined]>) {
    if (values) where.push(inList(column[dimension], values));
  }
  for (const tag of tags) where.push(sql`tags ->> ${tag.name} = ${tag.value}`);
  return where;
}

// One grain's rows, read span by span (an index range each) and counted with their sign toward
// every bucket the plan gives the span: columns b (bucket start, ms), d0… and the measures.
function grainRows(q: UsageQuery, visible: Visibility, source: Source, part: GrainPart): SQL {
  const groups = q.dimensions.map((d, i) => sql`${dimensionSql(d)} as ${sql.raw(`d${i}`)}`);
  const read = (fromTime: SQL, toTime: SQL) => {
    const where = sql.join([...conditions(q, visible), sql`${source.time} >= ${fromTime}`, sql`${source.time} < ${toTime}`], sql` and `);
    return source.summed
      ? sql`select ${sql.join([...groups, rollupSums], sql`, `)} from ${source.table} where ${where}
          ${groups.length > 0 ? sql.raw(`group by ${groups.map((_, i) => i + 1).join(', ')}`) : sql``} having count(*) > 0`
      : sql`select ${sql.join([...groups, eventMeasures], sql`, `)} from ${source.table} where ${where}`;
  };
  return sql`select ${sql.join([sql`bucket_ms as b`, ...q.dimensions.map((_, i) => sql.raw(`d${i}`)), ...measureNames.map((m) => sql.raw(`sign * ${m} as ${m}`))], sql`, `)}
    from (${signedRows(part, read)}) x`;
}

const usesTags = (q: UsageQuery) => q.dimensions.some(isTagDimension) || (q.filters.tags?.length ?? 0) > 0;

const dimensionSql = (d: Dimension): SQL => (isTagDimension(d) ? sql`tags ->> ${d.slice(4)}` : column[d]);

interface RawRow {
  is_total: number;
  bucket_ms: string | null;
  bucket_local: string | null;
  bucket_offset_s: number | null;
  requests: string;
  errors: string;
  estimated: string;
  unmetered: string;
  input_tokens: string;
  cached_tokens: string;
  output_tokens: string;
  reasoning_tokens: string;
  cost_micros: string;
  latency_ms: string;
  p50: string | null;
  p95: string | null;
  [dimension: `d${number}`]: string | null;
}

const offsetText = (seconds: number) => {
  const abs = Math.abs(seconds);
  return `${seconds < 0 ? '-' : '+'}${String(Math.floor(abs / 3600)).padStart(2, '0')}:${String(Math.floor((abs % 3600) / 60)).padStart(2, '0')}`;
};

function measures(r: RawRow): UsageMeasures {
  const requests = Number(r.requests);
  const estimatedRequests = Number(r.estimated);
  return {
    requests,
    errors: Number(r.errors),
    estimatedRequests,
    unmeteredRequests: Number(r.unmetered),
    inputTokens: Number(r.input_tokens),
    cachedTokens: Number(r.cached_tokens),
    outputTokens: Number(r.output_tokens),
    reasoningTokens: Number(r.reasoning_tokens),
    costMicros: Number(r.cost_micros),
    estimatedShare: requests === 0 ? 0 : Math.round((estimatedRequests / requests) * 10_000) / 10_000,
    latencyMsMean: requests === 0 ? null : Math.round(Number(r.latency_ms) / requests),
    latencyMsP50: r.p50 === null ? null : Number(r.p50),
    latencyMsP95: r.p95 === null ? null : Number(r.p95),
  };
}

export async function queryUsage(db: Db, visible: Visibility, q: UsageQuery): Promise<UsageResult> {
  const level = rollupLevel(q, visible);
  const plan = await planRange(db, q, level);
  const grains = (['day', 'hour', 'quarter', 'event'] as const).filter((g) => plan.parts[g]);
  const sourceName = grains.length === 1 && grains[0] === 'event' ? 'events' : grains.includes('event') ? 'mixed' : 'rollups';
  const keys = [...(q.bucket ? [sql.raw('b')] : []), ...q.dimensions.map((_, i) => sql.raw(`d${i}`))];
  const selects = grains.map((g) => grainRows(q, visible, grainSources[level][g]!, plan.parts[g]!));
  const placed = sql`select ${sql.join([...(q.bucket ? [sql`${instant(sql`b`)} as b`] : []), ...q.dimensions.map((_, i) => sql.raw(`d${i}`)), ...measureNames.map((m) => sql.raw(m))], sql`, `)}
    from (${sql.join(selects, sql` union all `)}) u`;
  const bucketColumns = q.bucket
    ? sql`(extract(epoch from b) * 1000)::bigint as bucket_ms, to_char(b at time zone ${q.tz}, 'YYYY-MM-DD"T"HH24:MI:SS') as bucket_local,
        extract(epoch from (b at time zone ${q.tz}) - (b at time zone 'UTC'))::int as bucket_offset_s`
    : sql`null::bigint as bucket_ms, null as bucket_local, null::int as bucket_offset_s`;
  const percentiles =
    sourceName === 'events'
      ? sql`percentile_disc(0.5) within group (order by latency_ms) as p50, percentile_disc(0.95) within group (order by latency_ms) as p95`
      : sql`null as p50, null as p95`;
  const grouping = keys.length === 0 ? sql`` : sql`group by grouping sets ((${sql.join(keys, sql`, `)}), ())`;
  // grouping() is non-zero only on the grand total row, which comes first; then rows by time and cost.
  const isTotal = keys.length === 0 ? sql`1` : sql`grouping(${sql.join(keys, sql`, `)})`;
  const select = [
    sql`${isTotal} as is_total`,
    bucketColumns,
    ...q.dimensions.map((_, i) => sql.raw(`d${i}`)),
    sql`coalesce(sum(requests), 0)::bigint as requests, coalesce(sum(errors), 0)::bigint as errors,
        coalesce(sum(estimated), 0)::bigint as estimated, coalesce(sum(unmetered), 0)::bigint as unmetered,
        coalesce(sum(prompt_tokens), 0)::bigint as input_tokens, coalesce(sum(cached_tokens), 0)::bigint as cached_tokens,
        coalesce(sum(completion_tokens), 0)::bigint as output_tokens, coalesce(sum(reasoning_tokens), 0)::bigint as reasoning_tokens,
        coalesce(sum(cost_micros), 0)::bigint as cost_micros, coalesce(sum(latency_ms), 0)::bigint as latency_ms`,
    percentiles,
  ];
  const rows = await run<RawRow>(
    db,
    sql`select ${sql.join(select, sql`, `)}
      from (${placed}) s
      ${grouping}
      having ${isTotal} <> 0 or coalesce(sum(requests), 0) <> 0
      order by ${sql.join([sql`is_total desc, bucket_ms nulls first, cost_micros desc, requests desc`, ...q.dimensions.map((_, i) => sql.raw(`d${i}`))], sql`, `)}
      limit ${q.limit + 2}`,
    q.tz,
  );
  const [total, ...grouped] = rows;
  const kept = keys.length === 0 ? [] : grouped.slice(0, q.limit);
  return {
    from: q.from,
    to: q.to,
    fromMs: plan.fromMs,
    toMs: plan.toMs,
    tz: q.tz,
    groupBy: q.dimensions,
    bucket: q.bucket,
    source: sourceName,
    rows: kept.map((r) => ({
      ...(q.bucket ? { bucket: `${r.bucket_local}${offsetText(r.bucket_offset_s!)}`, bucketStartMs: Number(r.bucket_ms) } : {}),
      ...Object.fromEntries(q.dimensions.map((d, i) => [d, r[`d${i}`] ?? null])),
      ...measures(r),
    })),
    totals: measures(total!),
    truncated: grouped.length > q.limit,
  };
}
