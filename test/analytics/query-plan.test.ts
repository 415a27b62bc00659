// The source plan in isolation: which signed spans of daily, hourly and 15-minute rollups and raw
// events answer each local bucket, given the buckets as Postgres cuts them (here written out for
// the zones they stand for). A plan is exact when, for any events at all, summing each span's
// events with its signs per bucket gives every bucket exactly its own events.
import { describe, expect, it } from 'vitest';
import { dayMs, hourMs, type Piece, piecesOf, planSources, type QueryPlan, quarterMs, type RollupLevel } from '../../src/analytics/query-plan.js';

const at = (iso: string) => Date.parse(iso);

// Local days of a fixed offset over [from, to), cut as the query cuts them.
function localDayPieces(fromMs: number, toMs: number, offsetMs: number): Piece[] {
  const starts: number[] = [];
  for (let s = Math.floor((fromMs + offsetMs) / dayMs) * dayMs - offsetMs; s < toMs; s += dayMs) starts.push(s);
  return piecesOf(fromMs, toMs, 'day', starts);
}

// What the plan says each bucket holds, for events at the given instants (a rollup span holds
// exactly the events inside it, which is what makes rollups additive).
function planned(plan: QueryPlan, eventsMs: readonly number[]): Map<number | null, number> {
  const out = new Map<number | null, number>();
  for (const part of Object.values(plan.parts)) {
    for (const c of part.contributions) {
      const n = eventsMs.filter((t) => t >= part.startsMs[c.index - 1]! && t < part.endsMs[c.index - 1]!).length;
      out.set(c.bucketMs, (out.get(c.bucketMs) ?? 0) + c.sign * n);
    }
  }
  for (const [b, n] of out) if (n === 0) out.delete(b);
  return out;
}

function actual(pieces: readonly Piece[], eventsMs: readonly number[]): Map<number | null, number> {
  const out = new Map<number | null, number>();
  for (const t of eventsMs) {
    const p = pieces.find((x) => t >= x.fromMs && t < x.toMs);
    if (p) out.set(p.bucketMs, (out.get(p.bucketMs) ?? 0) + 1);
  }
  return out;
}

// Events every 7 minutes and 13 seconds from a day before the range to a day after it, so every
// span the plan rounds out to has events on both sides of each cut.
const eventsAround = (fromMs: number, toMs: number) => Array.from({ length: Math.ceil((toMs - fromMs + 2 * dayMs) / 433_000) }, (_, i) => fromMs - dayMs + i * 433_000);

const rowsRead = (plan: QueryPlan) => Object.values(plan.parts).reduce((s, p) => s + p.startsMs.length, 0);

describe('source plan', () => {
  it('answers UTC days from daily rollups alone, one span per day', () => {
    const from = at('2026-11-01T00:00:00Z');
    const to = at('2026-11-08T00:00:00Z');
    const plan = planSources(from, to, localDayPieces(from, to, 0), 'wide');
    expect(Object.keys(plan.parts)).toEqual(['day']);
    expect(plan.parts.day!.startsMs).toHaveLength(7);
    expect(plan.parts.day!.contributions.every((c) => c.sign === 1 && c.bucketMs === plan.parts.day!.startsMs[c.index - 1])).toBe(true);
  });

  it('takes a +05:30 day as its UTC day plus the 5.5 hours before it less the 5.5 hours at its end, each overhang read once', () => {
    const offset = 5.5 * hourMs;
    const from = at('2026-11-01T00:00:00Z') - offset;
    const to = from + 3 * dayMs;
    const plan = planSources(from, to, localDayPieces(from, to, offset), 'team');
    expect(plan.parts.event).toBeUndefined();
    expect(plan.parts.day!.startsMs).toEqual([at('2026-11-01T00:00:00Z'), at('2026-11-02T00:00:00Z'), at('2026-11-03T00:00:00Z')]);
    // The 18:30–24:00 overhang of 1 November: taken from 1 November, given to 2 November.
    const hour = plan.parts.hour!;
    const overhang = hour.startsMs.indexOf(at('2026-11-01T19:00:00Z')) + 1;
    expect(hour.endsMs[overhang - 1]).toBe(at('2026-11-02T00:00:00Z'));
    expect(hour.contributions.filter((c) => c.index === overhang)).toEqual([
      { index: overhang, sign: -1, bucketMs: at('2026-11-01T00:00:00Z') - offset },
      { index: overhang, sign: 1, bucketMs: at('2026-11-02T00:00:00Z') - offset },
    ]);
    expect(plan.parts.quarter!.startsMs).toContain(at('2026-11-01T18:30:00Z'));
    // Against the plan of positive spans alone (18 hours and 2 quarters from each UTC day, 5 hours and 2 quarters of the day before).
    expect(rowsRead(plan)).toBeLessThan(3 * 8);
  });

  it('reads raw events only for the quarter hours a +05:45 midnight leaves at the wide level', () => {
    const offset = 5.75 * hourMs;
    const from = at('2026-11-01T00:00:00Z') - offset;
    const to = from + 2 * dayMs;
    const plan = planSources(from, to, localDayPieces(from, to, offset), 'wide');
    const event = plan.parts.event!;
    expect(event.startsMs.map((s, i) => event.endsMs[i]! - s)).toEqual(event.startsMs.map(() => 45 * 60_000));
    expect(plan.parts.day!.startsMs).toHaveLength(2);
  });

  it('reads events only for range ends off the quarter hour at the team level', () => {
    const from = at('2026-11-01T10:07:00Z');
    const to = at('2026-11-01T12:50:00Z');
    const plan = planSources(from, to, [{ fromMs: from, toMs: to, bucketMs: null }], 'team');
    const event = plan.parts.event!;
    // The 7 minutes after 10:00 (taken from the 10:00 hour) and the 5 minutes after 12:45 (added to three quarter hours).
    expect(event.startsMs.map((s, i) => [s, event.endsMs[i]])).toEqual([
      [at('2026-11-01T10:00:00Z'), from],
      [at('2026-11-01T12:45:00Z'), to],
    ]);
    expect(event.endsMs.reduce((s, e, i) => s + e - event.startsMs[i]!, 0)).toBeLessThanOrEqual(2 * quarterMs);
  });

  it('reads only raw events, each bucket once, when rollups may not answer', () => {
    const from = at('2026-03-07T05:15:00Z');
    const to = at('2026-03-10T04:00:00Z');
    const pieces = localDayPieces(from, to, -5 * hourMs);
    const plan = planSources(from, to, pieces, 'none');
    expect(Object.keys(plan.parts)).toEqual(['event']);
    expect(plan.parts.event!.contributions.every((c) => c.sign === 1)).toBe(true);
    expect(plan.parts.event!.startsMs[0]).toBe(from);
  });

  it('gives every bucket exactly its events in any offset, DST day, bucket and level', () => {
    const ny = (iso: string) => at(iso);
    // New York's 2026-11-01 has 25 hours and 2026-03-08 has 23: buckets of uneven length.
    const dstDays = (starts: string[]) => (from: number, to: number) => piecesOf(from, to, 'day', starts.map(ny));
    const cases: Array<{ name: string; from: number; to: number; pieces: (from: number, to: number) => Piece[] }> = [
      ...[0, 5.5, 5.75, -9.5, 12.75].map((h) => ({ name: `${h} h days`, from: at('2026-10-30T00:00:00Z') - h * hourMs, to: at('2026-11-04T00:00:00Z') - h * hourMs, pieces: (f: number, t: number) => localDayPieces(f, t, h * hourMs) })),
      { name: 'New York fall-back', from: ny('2026-10-31T04:00:00Z'), to: ny('2026-11-03T05:00:00Z'), pieces: dstDays(['2026-10-31T04:00:00Z', '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z']) },
      { name: 'New York spring-forward', from: ny('2026-03-07T05:00:00Z'), to: ny('2026-03-10T04:00:00Z'), pieces: dstDays(['2026-03-07T05:00:00Z', '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z']) },
      { name: 'ragged range, no bucket', from: at('2026-11-01T03:07:00Z'), to: at('2026-11-05T22:41:00Z'), pieces: (f: number, t: number) => [{ fromMs: f, toMs: t, bucketMs: null }] },
      { name: '+05:45 hours', from: at('2026-11-01T00:15:00Z'), to: at('2026-11-01T06:15:00Z'), pieces: (f: number, t: number) => piecesOf(f, t, 'hour', Array.from({ length: 7 }, (_, i) => f + i * hourMs)) },
    ];
    for (const c of cases) {
      const pieces = c.pieces(c.from, c.to);
      const events = eventsAround(c.from, c.to);
      for (const level of ['none', 'wide', 'team'] as RollupLevel[]) {
        const plan = planSources(c.from, c.to, pieces, level);
        expect({ case: c.name, level, buckets: planned(plan, events) }).toEqual({ case: c.name, level, buckets: actual(pieces, events) });
      }
    }
  });
});
