// Which rows answer a usage query exactly and cheaply: a UTC day from the daily rollups when the
// whole day lies in the range and in one bucket, a UTC hour from the hourly rollups under the same
// rule, a quarter hour from the 15-minute rollups (team level only) for the hour around a +05:30
// or +05:45 midnight, and raw events for everything else (range ends off the quarter hour). Where
// buckets begin is Postgres's answer (date_trunc in the query's zone), so the plan and the query
// that follows use the same time zone data.
import { sql, type SQL } from 'drizzle-orm';
import type { TimeBucket } from './dimensions.js';

export interface Span {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface QueryPlan {
  readonly fromMs: number;
  readonly toMs: number;
  readonly days: readonly Span[];
  readonly hours: readonly Span[];
  readonly quarters: readonly Span[];
  readonly events: readonly Span[];
}

// Which rollups may answer: none (raw events only), the wide ones (day and hour), or the team
// level ones (day, hour and quarter hour; src/usage/rollup-tables.ts).
export type RollupLevel = 'none' | 'wide' | 'team';

export interface HourFacts {
  readonly startMs: number;
  // The whole hour falls in one bucket (always true without a bucket).
  readonly aligned: boolean;
  readonly bucketMs: number | null;
  // Each of its four quarter hours falls in one bucket.
  readonly quartersAligned: boolean;
}

export const hourMs = 3_600_000;
export const quarterMs = 900_000;
export const dayMs = 86_400_000;

// Every UTC hour that overlaps [f, t): its start, whether it (and each of its quarter hours) lies
// in one bucket, and that bucket. `t` is the range end capped by the caller, so an absurd range
// cannot make a huge series.
export function hourFactsSql(bucket: TimeBucket | null, tz: string): SQL {
  const hours = sql`generate_series(date_bin('1 hour', f, timestamptz '2000-01-01T00:00:00Z'), t - interval '1 millisecond', interval '1 hour') h`;
  if (!bucket) return sql`select (extract(epoch from h) * 1000)::bigint as start_ms, true as aligned, null::bigint as bucket_ms, true as quarters_aligned from ${hours}`;
  const inOne = (from: SQL, width: string) => sql`date_trunc(${bucket}, ${from}, ${tz}) = date_trunc(${bucket}, ${from} + ${width}::interval - interval '1 millisecond', ${tz})`;
  return sql`select start_ms, aligned, bucket_ms,
      aligned or (select bool_and(${inOne(sql`q`, '15 minutes')}) from generate_series(h, h + interval '45 minutes', interval '15 minutes') q) as quarters_aligned
    from (select h, (extract(epoch from h) * 1000)::bigint as start_ms, ${inOne(sql`h`, '1 hour')} as aligned,
        (extract(epoch from date_trunc(${bucket}, h, ${tz})) * 1000)::bigint as bucket_ms
      from ${hours}) x`;
}

// Consecutive spans joined into one, so the query's WHERE has a few ranges rather than hundreds.
function merged(spans: readonly Span[]): Span[] {
  const out: Span[] = [];
  for (const s of [...spans].sort((a, b) => a.fromMs - b.fromMs)) {
    const last = out.at(-1);
    if (last && last.toMs === s.fromMs) out[out.length - 1] = { fromMs: last.fromMs, toMs: s.toMs };
    else out.push(s);
  }
  return out;
}

export function planSources(fromMs: number, toMs: number, hours: readonly HourFacts[], level: RollupLevel): QueryPlan {
  if (level === 'none') return { fromMs, toMs, days: [], hours: [], quarters: [], events: [{ fromMs, toMs }] };
  const within = (startMs: number, widthMs: number) => startMs >= fromMs && startMs + widthMs <= toMs;
  const usable = (h: HourFacts) => h.aligned && within(h.startMs, hourMs);
  const byDay = new Map<number, HourFacts[]>();
  for (const h of hours) {
    const day = h.startMs - (h.startMs % dayMs);
    byDay.set(day, [...(byDay.get(day) ?? []), h]);
  }
  const days: Span[] = [];
  const rolled: Span[] = [];
  const quarters: Span[] = [];
  const events: Span[] = [];
  const clipped = (startMs: number, widthMs: number): Span => ({ fromMs: Math.max(fromMs, startMs), toMs: Math.min(toMs, startMs + widthMs) });
  for (const [day, list] of byDay) {
    if (list.length === 24 && list.every(usable) && list.every((h) => h.bucketMs === list[0]!.bucketMs)) {
      days.push({ fromMs: day, toMs: day + dayMs });
      continue;
    }
    for (const h of list) {
      if (usable(h)) rolled.push({ fromMs: h.startMs, toMs: h.startMs + hourMs });
      else if (level === 'team' && h.quartersAligned) {
        for (let q = h.startMs; q < h.startMs + hourMs; q += quarterMs) {
          if (within(q, quarterMs)) quarters.push({ fromMs: q, toMs: q + quarterMs });
          else if (q < toMs && q + quarterMs > fromMs) events.push(clipped(q, quarterMs));
        }
      } else events.push(clipped(h.startMs, hourMs));
    }
  }
  return { fromMs, toMs, days: merged(days), hours: merged(rolled), quarters: merged(quarters), events: merged(events) };
}
