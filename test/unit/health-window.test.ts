// The fleet window's arithmetic: per replica, latest minus the snapshot at the window's start,
// summed; a replica whose counters went down restarted and counts its latest values whole; a
// replica that stopped publishing drops out once the window has passed it; p99 is the bound of the
// bucket the 99th percentile falls in.
import { describe, expect, it } from 'vitest';
import type { HealthSnapshot } from '../../src/alerts/health-snapshot.js';
import { createHealthWindow, quantileMs } from '../../src/alerts/health-window.js';

const snap = (replica: string, atMs: number, requests: number, errors: number, costMicros = 0): HealthSnapshot => ({
  replica,
  atMs,
  providers: { openai: { requests, errors, answers: requests, ttfb: [[100, requests - errors], [1_000, requests]] } },
  requests,
  rateLimited: 0,
  costMicros,
  tokenizerQueued: 0,
  tokenizerMaxQueue: 256,
  usageLagMs: 0,
});

describe('health window', () => {
  it('sums each replica over the window from its base snapshot', () => {
    const window = createHealthWindow(60_000);
    window.add([snap('a', 0, 100, 0), snap('b', 0, 50, 5)], 0);
    window.add([snap('a', 30_000, 130, 3), snap('b', 30_000, 60, 5)], 30_000);
    expect(window.totals()).toMatchObject({ spanMs: 30_000, requests: 40, providers: { openai: { requests: 40, errors: 3 } } });
    // At 70 s the base is the snapshot at 0 s still (the last one at or before 10 s).
    window.add([snap('a', 70_000, 200, 3), snap('b', 70_000, 60, 5)], 70_000);
    expect(window.totals()).toMatchObject({ requests: 110, providers: { openai: { requests: 110, errors: 3 } } });
    // At 100 s the base moves to 30 s.
    window.add([snap('a', 100_000, 210, 4), snap('b', 100_000, 60, 5)], 100_000);
    expect(window.totals()).toMatchObject({ spanMs: 70_000, requests: 80, providers: { openai: { requests: 80, errors: 1 } } });
  });

  it('counts a restarted replica from zero, and forgets one that stopped publishing', () => {
    const window = createHealthWindow(60_000);
    window.add([snap('a', 0, 1_000, 10, 5_000), snap('b', 0, 10, 0)], 0);
    // a restarted: its counters are back near zero.
    window.add([snap('a', 10_000, 7, 2, 300), snap('b', 10_000, 20, 0)], 10_000);
    expect(window.totals()).toMatchObject({ requests: 7 + 10, costMicros: 300, providers: { openai: { requests: 17, errors: 2 } } });
    // b stops publishing; a minute after its last snapshot it no longer counts.
    window.add([snap('a', 80_000, 9, 2, 300)], 80_000);
    expect(window.totals()).toMatchObject({ requests: 2 });
  });

  it('puts p99 at the bound of the bucket it falls in', () => {
    expect(quantileMs({ requests: 100, errors: 0, answers: 100, ttfb: [[100, 99], [1_000, 100]] }, 0.99)).toBe(100);
    expect(quantileMs({ requests: 100, errors: 0, answers: 100, ttfb: [[100, 98], [1_000, 100]] }, 0.99)).toBe(1_000);
    expect(quantileMs({ requests: 100, errors: 0, answers: 100, ttfb: [[100, 50], [1_000, 98]] }, 0.99)).toBe(Number.POSITIVE_INFINITY);
  });
});
