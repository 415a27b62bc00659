// Usage queries over the ledger: totals grouped by any dimensions and a time bucket in an IANA zone,
// filtered and limited to what the caller may see. Exactness first: a daily, hourly or 15-minute
// rollup row answers only for a UTC day, hour or quarter hour that lies wholly in the range and in
// one bucket (the plan, src/analytics/query-plan.ts); the rest (range ends off the quarter hour,
// tags, latency percentiles, and the hour around a +05:30 midnight when users or keys are asked
// for) comes from the raw events, all summed by one aggregation. Queries that neither group nor
// filter by user, key or tag read the team level rollups (src/usage/rollup-tables.ts), which
// have a few hundred rows a day instead of thousands.
import { sql, type SQL } from 'drizzle-orm';
import type { Visibility } from '../control/visibility.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import { type ColumnDimension, type Dimension, type Filters, type Grouping, isTagDimension, type TimeBucket } from './dimensions.js';
import { readRows } from './read.js';
import { dayMs, hourFactsSql, planSources, type QueryPlan, type RollupLevel, type Span } from './query-plan.js';

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

const rollupMeasures = sql`requests, error_requests as errors, estimated_requests as estimated, unmetered_requests as unmetered,
      prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, cost_micros, latency_ms_sum as latency_ms`;

const rollupSums = sql`sum(requests) as requests, sum(error_requests) as errors, sum(estimated_requests) as estimated, sum(unmetered_requests) as unmetered,
      sum(prompt_tokens) as prompt_tokens, sum(cached_tokens) as cached_tokens, sum(completion_tokens) as completion_tokens,
      sum(reasoning_tokens) as reasoning_tokens, sum(cost_micros) as cost_micros, sum(latency_ms_sum) as latency_ms`;
const rollupSummedMeasures = sql`requests, errors, estimated, unmetered, prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, cost_micros, latency_ms`;

// Per-row measures under one set of names, so one outer aggregation serves every source.
const sources = {
  days: { table: sql`usage_rollups_daily`, time: sql`day`, measures: rollupMeasures },
  hours: { table: sql`usage_rollups_hourly`, time: sql`hour`, measures: rollupMeasures },
  events: {
    table: sql`usage_events`,
    time: sql`time`,
    measures: sql`1 as requests, (status >= 400 or error_code is not null)::int as errors, estimated::int as estimated,
      unmetered::int as unmetered, prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, cost_micros, latency_ms`,
  },
} as const;


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

type Source = (typeof sources)[keyof typeof sources];

// Which table answers each kind of span at each rollup level (the wide level has no quarter hours).
const rollupSources: Record<Exclude<RollupLevel, 'none'>, Partial<Record<'days' | 'hours' | 'quarters', Source>>> = {
  wide: { days: sources.days, hours: sources.hours },
  team: {
    days: { table: sql`usage_rollups_team_daily`, time: sql`day`, measures: rollupMeasures },
    hours: { table: sql`usage_rollups_team_hourly`, time: sql`hour`, measures: rollupMeasures },
    quarters: { table: sql`usage_rollups_team_15m`, time: sql`quarter`, measures: rollupMeasures },
  },
};

const teamLevelDimensions = new Set<Dimension>(['org', 'team', 'provider', 'model']);

// Team level rollups hold no user, key or tag; a developer (whose view is their own user) needs the wide ones.
function rollupLevel(q: UsageQuery, visible: Visibility): RollupLevel {
  if (q.source === 'events' || usesTags(q)) return 'none';
  const teamLevel = visible.userId === null && q.dimensions.every((d) => teamLevelDimensions.has(d)) && !q.filters.user && !q.filters.key;
  return teamLevel ? 'team' : 'wide';
}

// The range as instants and which rows answer it (src/analytics/query-plan.ts), in one statement.
async function planRange(db: Db, q: UsageQuery, level: RollupLevel): Promise<QueryPlan> {
  const facts =
    level === 'none' ? sql`select null::bigint as start_ms, null::boolean as aligned, null::bigint as bucket_ms, null::boolean as quarters_aligned where false` : hourFactsSql(q.bucket, q.tz);
  const rows = await run<{ from_ms: string; to_ms: string; start_ms: string | null; aligned: boolean | null; bucket_ms: string | null; quarters_aligned: boolean | null }>(
    db,
    sql`select (extract(epoch from r.f) * 1000)::bigint as from_ms, (extract(epoch from r.t_end) * 1000)::bigint as to_ms, x.start_ms, x.aligned, x.bucket_ms, x.quarters_aligned
    from (select f, t_end, least(t_end, f + ${`${maxRangeDays} days`}::interval) as t
      from (select ${rangeStart(q.from, q.tz)} as f, ${rangeEnd(q.to, q.tz)} as t_end) given) r
    left join lateral (${facts}) x on r.t_end > r.f and r.t_end - r.f <= ${`${maxRangeDays} days`}::interval
    order by x.start_ms`,
    q.tz,
  );
  const fromMs = Number(rows[0]!.from_ms);
  const toMs = Number(rows[0]!.to_ms);
  if (toMs <= fromMs) throw new GatewayError('invalid_request', `to must be after from (${q.from} .. ${q.to}).`, 'to');
  if (toMs - fromMs > maxRangeDays * dayMs) throw new GatewayError('invalid_request', `The range may span at most ${maxRangeDays} days.`, 'to');
  const hours = rows
    .filter((r) => r.start_ms !== null)
    .map((r) => ({ startMs: Number(r.start_ms), aligned: r.aligned!, bucketMs: r.bucket_ms === null ? null : Number(r.bucket_ms), quartersAligned: r.quarters_aligned! }));
  return planSources(fromMs, toMs, hours, level);
}

const inList = (col: SQL, values: readonly string[]) => (values.length === 0 ? sql`false` : sql`${col} in ${values}`);

// A team and every team below it (union, not union all: a hand-made parent cycle ends).
const teamsUnder = (ids: readonly string[]) =>
  ids.length === 0 ? sql`false` : sql`team_id in (with recursive below(id) as (select id from teams where id in ${ids} union select t.id from teams t join below on t.parent_id = below.id) select id from below)`;

const instant = (ms: number) => sql`timestamptz 'epoch' + ${ms}::bigint * interval '1 millisecond'`;

// The source's own spans within the overall bounds (which the indexes use).
const inSpans = (time: SQL, spans: readonly Span[]) => sql`(${sql.join(spans.map((s) => sql`(${time} >= ${instant(s.fromMs)} and ${time} < ${instant(s.toMs)})`), sql` or `)})`;

// The overall bounds and what the caller may see and asked for; the spans are inSpans'.
function conditions(q: UsageQuery, visible: Visibility, time: SQL, spans: readonly Span[]): SQL[] {
  const where: SQL[] = [sql`${time} >= ${instant(spans[0]!.fromMs)}`, sql`${time} < ${instant(spans.at(-1)!.toMs)}`];
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
  const parts = (['days', 'hours', 'quarters', 'events'] as const).filter((name) => plan[name].length > 0);
  const sourceName = parts.length === 1 && parts[0] === 'events' ? 'events' : parts.includes('events') ? 'mixed' : 'rollups';
  const dims = (time: SQL) => [...(q.bucket ? [sql`date_trunc(${q.bucket}, ${time}, ${q.tz}) as b`] : []), ...q.dimensions.map((d, i) => sql`${dimensionSql(d)} as ${sql.raw(`d${i}`)}`)];
  const keys = [...(q.bucket ? [sql.raw('b')] : []), ...q.dimensions.map((_, i) => sql.raw(`d${i}`))];
  const selects = parts.map((name) => {
    const source = name === 'events' || level === 'none' ? sources.events : rollupSources[level][name]!;
    const where = conditions(q, visible, source.time, plan[name]);
    if (!q.bucket || source === sources.events) return sql`select ${sql.join([...dims(source.time), source.measures], sql`, `)} from ${source.table} where ${sql.join([...where, inSpans(source.time, plan[name])], sql` and `)}`;
    // Rollup rows summed per rollup bucket first, then placed in local buckets: date_trunc in a
    // zone per row, and a test of every row against a span per local day, made a month by day in
    // Asia/Kolkata read 86k team hours at about a second; summed first it is 720 hours.
    const groups = q.dimensions.map((d, i) => sql`${dimensionSql(d)} as ${sql.raw(`d${i}`)}`);
    const summed = sql`select ${sql.join([sql`${source.time} as t`, ...groups, rollupSums], sql`, `)} from ${source.table}
      where ${sql.join(where, sql` and `)} group by ${sql.raw(Array.from({ length: groups.length + 1 }, (_, i) => i + 1).join(', '))}`;
    return sql`select ${sql.join([...dims(sql`t`).slice(0, 1), ...q.dimensions.map((_, i) => sql.raw(`d${i}`)), rollupSummedMeasures], sql`, `)}
      from (${summed}) g where ${inSpans(sql`t`, plan[name])}`;
  });
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
      from (${sql.join(selects, sql` union all `)}) s
      ${grouping}
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
