// The source plan in isolation: which UTC days and hours rollups may answer for, given each hour's
// bucket facts as Postgres reports them (here written out for the zones they stand for).
import { describe, expect, it } from 'vitest';
import { dayMs, type HourFacts, hourMs, planSources } from '../../src/analytics/query-plan.js';

const at = (iso: string) => Date.parse(iso);

// Hour facts for [from, to) when local buckets start at `offsetMs` past each UTC midnight.
function facts(fromMs: number, toMs: number, bucketStart: (ms: number) => number): HourFacts[] {
  const out: HourFacts[] = [];
  for (let h = fromMs - (fromMs % hourMs); h < toMs; h += hourMs) out.push({ startMs: h, aligned: bucketStart(h) === bucketStart(h + hourMs - 1), bucketMs: bucketStart(h) });
  return out;
}
const localDays = (offsetMs: number) => (ms: number) => Math.floor((ms + offsetMs) / dayMs) * dayMs - offsetMs;

describe('source plan', () => {
  it('answers UTC days from daily rollups and nothing from events when buckets are UTC days', () => {
    const from = at('2026-11-01T00:00:00Z');
    const to = at('2026-11-08T00:00:00Z');
    expect(planSources(from, to, facts(from, to, localDays(0)), true)).toEqual({ fromMs: from, toMs: to, days: [{ fromMs: from, toMs: to }], hours: [], events: [] });
  });

  it('splits +05:30 days into rollup hours and the one event hour around each local midnight', () => {
    const offset = 5.5 * hourMs;
    const from = at('2026-10-31T18:30:00Z');
    const to = at('2026-11-02T18:30:00Z');
    const plan = planSources(from, to, facts(from, to, localDays(offset)), true);
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

  it('uses whole UTC days inside a +05:45 range when nothing is bucketed by time', () => {
    const from = at('2026-10-31T18:15:00Z');
    const to = at('2026-11-30T18:15:00Z');
    const plan = planSources(from, to, facts(from, to, () => 0), true);
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
    for (const rollups of [true, false]) {
      const plan = planSources(from, to, facts(from, to, localDays(-5 * hourMs)), rollups);
      const spans = [...plan.days, ...plan.hours, ...plan.events].sort((a, b) => a.fromMs - b.fromMs);
      expect(spans[0]!.fromMs).toBe(from);
      expect(spans.at(-1)!.toMs).toBe(to);
      for (let i = 1; i < spans.length; i++) expect(spans[i]!.fromMs).toBe(spans[i - 1]!.toMs);
      if (!rollups) expect(plan).toEqual({ fromMs: from, toMs: to, days: [], hours: [], events: [{ fromMs: from, toMs: to }] });
    }
  });
});
