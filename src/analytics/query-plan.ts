// Which rows answer a usage query exactly and cheaply: signed spans. Rollups are additive, so a
// local day in +05:30 is its UTC day's daily rollup plus the 5.5 hours before it minus the 5.5
// hours at its end, and each of those is whole hourly rollups plus or minus quarter hours (the
// team level 15-minute rollups) or raw events for what no rollup lines up with. Each piece of the
// range (one local bucket, or the whole range without a bucket) is covered by the cheapest such
// sum of whole UTC days, hours and quarter hours and raw event spans, added or taken away; the
// query then reads each span once and counts it, with its sign, toward every bucket that uses it.
// Where buckets begin is Postgres's answer (date_trunc in the query's zone, src/analytics/query.ts),
// so the plan and the raw events agree on the zone data.
import type { TimeBucket } from './dimensions.js';

export const quarterMs = 900_000;
export const hourMs = 3_600_000;
export const dayMs = 86_400_000;

export type Grain = 'day' | 'hour' | 'quarter' | 'event';

// Which rollups may answer: none (raw events only), the wide ones (day and hour), or the team
// level ones (day, hour and quarter hour; src/usage/rollup-tables.ts).
export type RollupLevel = 'none' | 'wide' | 'team';

// One local bucket's part of the range (bucketMs null without a time bucket).
export interface Piece {
  readonly fromMs: number;
  readonly toMs: number;
  readonly bucketMs: number | null;
}

// A grain's spans, disjoint and ascending, and what each counts toward: span `index` (1-based,
// as Postgres numbers array elements) adds `sign` times its rows to the bucket.
export interface GrainPart {
  readonly startsMs: readonly number[];
  readonly endsMs: readonly number[];
  readonly contributions: ReadonlyArray<{ readonly index: number; readonly sign: 1 | -1; readonly bucketMs: number | null }>;
}

export interface QueryPlan {
  readonly fromMs: number;
  readonly toMs: number;
  readonly parts: Partial<Record<Grain, GrainPart>>;
}

interface Term {
  readonly grain: Grain;
  readonly fromMs: number;
  readonly toMs: number;
  readonly sign: 1 | -1;
}

const unitMs: Record<Exclude<Grain, 'event'>, number> = { day: dayMs, hour: hourMs, quarter: quarterMs };

// Rows read per unit (events: per hour of raw events), relative, for a busy org: a wide daily row
// set is a few hourly ones (the same users and keys recur through the day), raw events are about
// twice the wide hourly rows and forty times the team level ones (the bench's ledger).
const costs: Record<Exclude<RollupLevel, 'none'>, { grains: readonly Grain[]; perUnit: Partial<Record<Grain, number>> }> = {
  wide: { grains: ['day', 'hour', 'event'], perUnit: { day: 3, hour: 1, event: 2 } },
  team: { grains: ['day', 'hour', 'quarter', 'event'], perUnit: { day: 1, hour: 1, quarter: 1, event: 40 } },
};

interface Cover {
  readonly terms: readonly Term[];
  readonly cost: number;
}

const none: Cover = { terms: [], cost: 0 };
const plus = (...covers: Cover[]): Cover => ({ terms: covers.flatMap((c) => c.terms), cost: covers.reduce((s, c) => s + c.cost, 0) });
const minus = (c: Cover): Cover => ({ terms: c.terms.map((t) => ({ ...t, sign: t.sign === 1 ? -1 : 1 })), cost: c.cost });
const cheaper = (a: Cover, b: Cover) => (b.cost < a.cost ? b : a);

// The cheapest signed cover of [fromMs, toMs) with grains[i…]: whole units inside it, and each
// ragged end either covered by finer grains or rounded out to a whole unit less the overhang.
function cover(fromMs: number, toMs: number, grains: readonly Grain[], i: number, perUnit: Partial<Record<Grain, number>>): Cover {
  if (toMs <= fromMs) return none;
  const grain = grains[i]!;
  if (grain === 'event') return { terms: [{ grain, fromMs, toMs, sign: 1 }], cost: ((toMs - fromMs) / hourMs) * perUnit.event! };
  const u = unitMs[grain];
  const unit = (f: number, t: number): Cover => (t > f ? { terms: [{ grain, fromMs: f, toMs: t, sign: 1 }], cost: ((t - f) / u) * perUnit[grain]! } : none);
  const finer = (f: number, t: number) => cover(f, t, grains, i + 1, perUnit);
  const down = Math.floor(fromMs / u) * u;
  const inFirst = Math.ceil(fromMs / u) * u;
  const inLast = Math.floor(toMs / u) * u;
  const up = Math.ceil(toMs / u) * u;
  if (inFirst > inLast) return cheaper(finer(fromMs, toMs), plus(unit(down, up), minus(finer(down, fromMs)), minus(finer(toMs, up))));
  const left = cheaper(finer(fromMs, inFirst), plus(unit(down, inFirst), minus(finer(down, fromMs))));
  const right = cheaper(finer(inLast, toMs), plus(unit(inLast, up), minus(finer(toMs, up))));
  return plus(left, unit(inFirst, inLast), right);
}

// A grain's terms as disjoint spans, each with its net sign per bucket (a span added to one day
// and taken from the next is read once); neighbours counting toward the same buckets are joined.
function grainPart(terms: ReadonlyArray<Term & { bucketMs: number | null }>): GrainPart {
  const edges = new Map<number, Array<{ bucketMs: number | null; sign: number }>>();
  const edge = (at: number, bucketMs: number | null, sign: number) => edges.set(at, [...(edges.get(at) ?? []), { bucketMs, sign }]);
  for (const t of terms) {
    edge(t.fromMs, t.bucketMs, t.sign);
    edge(t.toMs, t.bucketMs, -t.sign);
  }
  const at = [...edges.keys()].sort((a, b) => a - b);
  const open = new Map<number | null, number>();
  const spans: Array<{ fromMs: number; toMs: number; key: string; counts: Array<[number | null, number]> }> = [];
  for (let k = 0; k < at.length - 1; k++) {
    for (const e of edges.get(at[k]!)!) open.set(e.bucketMs, (open.get(e.bucketMs) ?? 0) + e.sign);
    const counts = [...open].filter(([, n]) => n !== 0).sort(([a], [b]) => (a ?? 0) - (b ?? 0));
    if (counts.length === 0) continue;
    const key = JSON.stringify(counts);
    const last = spans.at(-1);
    if (last && last.toMs === at[k] && last.key === key) last.toMs = at[k + 1]!;
    else spans.push({ fromMs: at[k]!, toMs: at[k + 1]!, key, counts });
  }
  return {
    startsMs: spans.map((s) => s.fromMs),
    endsMs: spans.map((s) => s.toMs),
    contributions: spans.flatMap((s, j) =>
      s.counts.flatMap(([bucketMs, n]) => Array.from({ length: Math.abs(n) }, () => ({ index: j + 1, sign: (n > 0 ? 1 : -1) as 1 | -1, bucketMs }))),
    ),
  };
}

export function planSources(fromMs: number, toMs: number, pieces: readonly Piece[], level: RollupLevel): QueryPlan {
  const covered = pieces.flatMap((p) => {
    const terms = level === 'none' ? [{ grain: 'event' as const, fromMs: p.fromMs, toMs: p.toMs, sign: 1 as const }] : cover(p.fromMs, p.toMs, costs[level].grains, 0, costs[level].perUnit).terms;
    return terms.map((t) => ({ ...t, bucketMs: p.bucketMs }));
  });
  const parts: Partial<Record<Grain, GrainPart>> = {};
  for (const grain of ['day', 'hour', 'quarter', 'event'] as const) {
    const terms = covered.filter((t) => t.grain === grain);
    const part = terms.length === 0 ? null : grainPart(terms);
    if (part && part.startsMs.length > 0) parts[grain] = part;
  }
  return { fromMs, toMs, parts };
}

// The range cut at each bucket start (sorted, the first at or before fromMs).
export function piecesOf(fromMs: number, toMs: number, bucket: TimeBucket | null, bucketStartsMs: readonly number[]): Piece[] {
  if (!bucket) return [{ fromMs, toMs, bucketMs: null }];
  const starts = [...new Set(bucketStartsMs)].sort((a, b) => a - b);
  return starts.flatMap((s, k) => {
    const from = Math.max(fromMs, s);
    const to = Math.min(toMs, starts[k + 1] ?? toMs);
    return to > from ? [{ fromMs: from, toMs: to, bucketMs: s }] : [];
  });
}
