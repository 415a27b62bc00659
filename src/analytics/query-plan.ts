// Which rows answer a usage query exactly and cheaply: a UTC day from the daily rollups when the
// whole day lies in the range and in one bucket, a UTC hour from the hourly rollups under the same
// rule, and raw events for everything else (the hour around a +05:30 midnight, range ends off the
// hour). Where buckets begin is Postgres's answer (date_trunc in the query's zone), so the plan and
// the query that follows use the same time zone data.
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
  readonly events: readonly Span[];
}

export interface HourFacts {
  readonly startMs: number;
  // The whole hour falls in one bucket (always true without a bucket).
  readonly aligned: boolean;
  readonly bucketMs: number | null;
}

export const hourMs = 3_600_000;
export const dayMs = 86_400_000;

// Every UTC hour that overlaps [f, t): its start, whether it lies in one bucket, and that bucket.
// `t` is the range end capped by the caller, so an absurd range cannot make a huge series.
export function hourFactsSql(bucket: TimeBucket | null, tz: string): SQL {
  return bucket
    ? sql`select (extract(epoch from h) * 1000)::bigint as start_ms,
          date_trunc(${bucket}, h, ${tz}) = date_trunc(${bucket}, h + interval '1 hour' - interval '1 millisecond', ${tz}) as aligned,
          (extract(epoch from date_trunc(${bucket}, h, ${tz})) * 1000)::bigint as bucket_ms
        from generate_series(date_bin('1 hour', f, timestamptz '2000-01-01T00:00:00Z'), t - interval '1 millisecond', interval '1 hour') h`
    : sql`select (extract(epoch from h) * 1000)::bigint as start_ms, true as aligned, null::bigint as bucket_ms
        from generate_series(date_bin('1 hour', f, timestamptz '2000-01-01T00:00:00Z'), t - interval '1 millisecond', interval '1 hour') h`;
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

export function planSources(fromMs: number, toMs: number, hours: readonly HourFacts[], rollups: boolean): QueryPlan {
  if (!rollups) return { fromMs, toMs, days: [], hours: [], events: [{ fromMs, toMs }] };
  const usable = (h: HourFacts) => h.aligned && h.startMs >= fromMs && h.startMs + hourMs <= toMs;
  const byDay = new Map<number, HourFacts[]>();
  for (const h of hours) {
    const day = h.startMs - (h.startMs % dayMs);
    byDay.set(day, [...(byDay.get(day) ?? []), h]);
  }
  const days: Span[] = [];
  const rolled: Span[] = [];
  const events: Span[] = [];
  for (const [day, list] of byDay) {
    if (list.length === 24 && list.every(usable) && list.every((h) => h.bucketMs === list[0]!.bucketMs)) {
      days.push({ fromMs: day, toMs: day + dayMs });
      continue;
    }
    for (const h of list) {
      if (usable(h)) rolled.push({ fromMs: h.startMs, toMs: h.startMs + hourMs });
      else events.push({ fromMs: Math.max(fromMs, h.startMs), toMs: Math.min(toMs, h.startMs + hourMs) });
    }
  }
  return { fromMs, toMs, days: merged(days), hours: merged(rolled), events: merged(events) };
}
