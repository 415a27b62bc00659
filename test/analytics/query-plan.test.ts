// The source plan in isolation: which UTC days and hours rollups may answer for, given each hour's
// bucket facts as Postgres reports them (here written out for the zones they stand for).
import { describe, expect, it } from 'vitest';
import { dayMs, type HourFacts, hourMs, planSources, quarterMs } from '../../src/analytics/query-plan.js';

const at = (iso: string) => Date.parse(iso);

// Hour facts for [from, to) when local buckets start at `offsetMs` past each UTC midnight.
function facts(fromMs: number, toMs: number, bucketStart: (ms: number) => number): HourFacts[] {
  const out: HourFacts[] = [];
  for (let h = fromMs - (fromMs % hourMs); h < toMs; h += hourMs) out.push({
      startMs: h,
      aligned: bucketStart(h) === bucketStart(h + hourMs - 1),
      bucketMs: bucketStart(h),
      quartersAligned: [0, 1, 2, 3].every((q) => bucketStart(h + q * quarterMs) === bucketStart(h + (q + 1) * quarterMs - 1)),
    });
  return out;
}
const localDays = (offsetMs: number) => (ms: number) => Math.floor((ms + offsetMs) / dayMs) * dayMs - offsetMs;

describe('source plan', () => {
  it('answers UTC days from daily rollups and nothing from events when buckets are UTC days', () => {
    const from = at('2026-11-01T00:00:00Z');
    const to = at('2026-11-08T00:00:00Z');
    expect(planSources(from, to, facts(from, to, localDays(0)), 'wide')).toEqual({ fromMs: from, toMs: to, days: [{ fromMs: from, toMs: to }], hours: [], quarters: [], events: [] });
  });

  it('splits +05:30 days into wide rollup hours and the one event hour around each local midnight', () => {
    const offset = 5.5 * hourMs;
    const from = at('2026-10-31T18:30:00Z');
    const to = at('2026-11-02T18:30:00Z');
    const plan = planSources(from, to, facts(from, to, localDays(offset)), 'wide');
    expect(plan.quarters).toEqual([]);
    expect(plan.days).toEqual([]);
    expect(plan.events).toEqual([
      { fromMs: from, toMs: at('2026-10-31T19:00:00Z') },
      { fromMs: at('2026-11-01T18:00:00Z'), toMs: at('2026-11-01T19:00:00Z') },
      { fromMs: at('2026-11-02T18:00:00Z'), toMs: to },
    ]);
    expect(plan.hours).toEqual([
      { fromMs: at('2026-10-31T19:00:00Z'), toMs: at('2026-11-01T18:00:00Z') },
      { fromMs: at('2026-11-01T19:00:00Z'), toMs: at('2026-11-02T18:00:00Z') },
    ]);
  });

  it('answers +05:30 and +05:45 days at the team level from hours and quarter hours, with no events', () => {
    for (const offsetMinutes of [330, 345]) {
      const offset = offsetMinutes * 60_000;
      const from = at('2026-11-01T00:00:00Z') - offset;
      const to = from + 2 * dayMs;
      const plan = planSources(from, to, facts(from, to, localDays(offset)), 'team');
      expect(plan.events).toEqual([]);
      expect(plan.days).toEqual([]);
      // The local midnight splits one UTC hour: its quarters before and after it are read apart.
      const split = at('2026-11-01T18:00:00Z');
      expect(plan.quarters).toEqual([
        { fromMs: from, toMs: from - (from % hourMs) + hourMs },
        { fromMs: split, toMs: split + hourMs },
        { fromMs: to - (to % hourMs), toMs: to },
      ]);
      expect(plan.hours).toHaveLength(2);
    }
  });

  it('reads events for range ends off the quarter hour even at the team level', () => {
    const from = at('2026-11-01T10:07:00Z');
    const to = at('2026-11-01T12:50:00Z');
    const plan = planSources(from, to, facts(from, to, () => 0), 'team');
    expect(plan).toEqual({
      fromMs: from,
      toMs: to,
      days: [],
      hours: [{ fromMs: at('2026-11-01T11:00:00Z'), toMs: at('2026-11-01T12:00:00Z') }],
      quarters: [
        { fromMs: at('2026-11-01T10:15:00Z'), toMs: at('2026-11-01T11:00:00Z') },
        { fromMs: at('2026-11-01T12:00:00Z'), toMs: at('2026-11-01T12:45:00Z') },
      ],
      events: [
        { fromMs: from, toMs: at('2026-11-01T10:15:00Z') },
        { fromMs: at('2026-11-01T12:45:00Z'), toMs: to },
      ],
    });
  });

  it('uses whole UTC days inside a +05:45 range when nothing is bucketed by time', () => {
    const from = at('2026-10-31T18:15:00Z');
    const to = at('2026-11-30T18:15:00Z');
    const plan = planSources(from, to, facts(from, to, () => 0), 'wide');
    expect(plan.days).toEqual([{ fromMs: at('2026-11-01T00:00:00Z'), toMs: at('2026-11-30T00:00:00Z') }]);
    expect(plan.hours).toEqual([
      { fromMs: at('2026-10-31T19:00:00Z'), toMs: at('2026-11-01T00:00:00Z') },
      { fromMs: at('2026-11-30T00:00:00Z'), toMs: at('2026-11-30T18:00:00Z') },
    ]);
    expect(plan.events).toEqual([
      { fromMs: from, toMs: at('2026-10-31T19:00:00Z') },
      { fromMs: at('2026-11-30T18:00:00Z'), toMs: to },
    ]);
  });

  it('covers the range exactly once, and reads only events when rollups may not answer', () => {
    const from = at('2026-03-07T05:00:00Z');
    const to = at('2026-03-10T04:00:00Z');
    for (const level of ['wide', 'team', 'none'] as const) {
      const plan = planSources(from + 15 * 60_000, to, facts(from, to, localDays(-5 * hourMs)), level);
      const spans = [...plan.days, ...plan.hours, ...plan.quarters, ...plan.events].sort((a, b) => a.fromMs - b.fromMs);
      expect(spans[0]!.fromMs).toBe(from + 15 * 60_000);
      expect(spans.at(-1)!.toMs).toBe(to);
      for (let i = 1; i < spans.length; i++) expect(spans[i]!.fromMs).toBe(spans[i - 1]!.toMs);
      if (level === 'none') expect(plan).toEqual({ fromMs: from + 15 * 60_000, toMs: to, days: [], hours: [], quarters: [], events: [{ fromMs: from + 15 * 60_000, toMs: to }] });
    }
  });
});
