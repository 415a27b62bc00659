// Budget windows in a time zone: where a day, month or hour starts and ends, across DST changes.
import { describe, expect, it } from 'vitest';
import { windowSpan, zoneOffsetMs } from '../../src/budget/windows.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const span = (window: Parameters<typeof windowSpan>[0], tz: string, at: string) => {
  const s = windowSpan(window, tz, Date.parse(at));
  return [iso(s.startMs), iso(s.endMs)];
};

describe('budget windows', () => {
  it('makes the New York day clocks spring forward 23 hours long and the fall-back day 25', () => {
    expect(span('day', 'America/New_York', '2024-03-10T12:00:00Z')).toEqual(['2024-03-10T05:00:00.000Z', '2024-03-11T04:00:00.000Z']);
    expect(span('day', 'America/New_York', '2024-11-03T12:00:00Z')).toEqual(['2024-11-03T04:00:00.000Z', '2024-11-04T05:00:00.000Z']);
  });

  it('starts a day whose midnight is skipped (Santiago) at the first instant that exists', () => {
    // On 2024-09-08 Chile moves from 00:00 -04 straight to 01:00 -03.
    expect(span('day', 'America/Santiago', '2024-09-08T12:00:00Z')).toEqual(['2024-09-08T04:00:00.000Z', '2024-09-09T03:00:00.000Z']);
  });

  it('aligns hour windows to half-hour offsets such as India', () => {
    expect(span('hour', 'Asia/Kolkata', '2024-04-07T12:00:00Z')).toEqual(['2024-04-07T11:30:00.000Z', '2024-04-07T12:30:00.000Z']);
    expect(span('hour', 'UTC', '2024-04-07T12:00:00Z')).toEqual(['2024-04-07T12:00:00.000Z', '2024-04-07T13:00:00.000Z']);
  });

  it('starts a Sydney month on the previous UTC day, and February 2024 has 29 days', () => {
    expect(span('month', 'Australia/Sydney', '2024-02-10T00:00:00Z')).toEqual(['2024-01-31T13:00:00.000Z', '2024-02-29T13:00:00.000Z']);
  });

  it('gives minute windows on the minute and a total window that never ends', () => {
    expect(span('minute', 'Asia/Kathmandu', '2024-04-07T12:00:59.999Z')).toEqual(['2024-04-07T12:00:00.000Z', '2024-04-07T12:01:00.000Z']);
    expect(span('total', 'UTC', '2024-04-07T12:00:00Z')).toEqual(['1970-01-01T00:00:00.000Z', null]);
  });

  it('answers from its memo inside a window and recomputes after a rollover or a clock step back', () => {
    const tz = 'Europe/Paris';
    expect(span('day', tz, '2024-06-01T21:59:59Z')[0]).toBe('2024-05-31T22:00:00.000Z');
    expect(span('day', tz, '2024-06-01T22:00:00Z')[0]).toBe('2024-06-01T22:00:00.000Z');
    expect(span('day', tz, '2024-06-01T12:00:00Z')[0]).toBe('2024-05-31T22:00:00.000Z');
  });

  it('reads zone offsets east of Greenwich as positive', () => {
    expect(zoneOffsetMs('Asia/Kolkata', Date.parse('2024-01-01T00:00:00Z'))).toBe(5.5 * 3_600_000);
    expect(zoneOffsetMs('America/New_York', Date.parse('2024-01-01T00:00:00Z'))).toBe(-5 * 3_600_000);
  });
});
