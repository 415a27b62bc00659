// The fleet's counters over a trailing window: the evaluator keeps each replica's snapshots for
// the window and sums, per replica, the latest minus the one at the window's start. A replica
// whose counters went down restarted: its latest values are its whole contribution.
import type { HealthSnapshot, ProviderCounts } from './health-snapshot.js';

export interface WindowTotals {
  // How much time the totals cover (shorter than the window until that much history exists).
  readonly spanMs: number;
  readonly providers: Readonly<Record<string, ProviderCounts>>;
  readonly requests: number;
  readonly rateLimited: number;
  readonly costMicros: number;
}

export interface HealthWindow {
  add(snapshots: readonly HealthSnapshot[], nowMs: number): void;
  totals(): WindowTotals;
}

const zero: Omit<HealthSnapshot, 'replica' | 'atMs'> = { providers: {}, requests: 0, rateLimited: 0, costMicros: 0, tokenizerQueued: 0, tokenizerMaxQueue: 0, usageLagMs: undefined };

function addProvider(into: Record<string, ProviderCounts>, name: string, latest: ProviderCounts, base: ProviderCounts | undefined): void {
  const sum = (into[name] ??= { requests: 0, errors: 0, answers: 0, ttfb: latest.ttfb.map(([le]) => [le, 0]) });
  sum.requests += latest.requests - (base?.requests ?? 0);
  sum.errors += latest.errors - (base?.errors ?? 0);
  sum.answers += latest.answers - (base?.answers ?? 0);
  latest.ttfb.forEach(([le, count], i) => {
    const slot = sum.ttfb.find(([bound]) => bound === le);
    if (slot) slot[1] += count - (base?.ttfb[i]?.[1] ?? 0);
  });
}

export function createHealthWindow(windowMs: number): HealthWindow {
  const history = new Map<string, HealthSnapshot[]>();
  return {
    add(snapshots, nowMs) {
      for (const snapshot of snapshots) {
        const list = history.get(snapshot.replica) ?? [];
        if (list.at(-1)?.atMs !== snapshot.atMs) list.push(snapshot);
        // Keep one snapshot at or before the window's start as the base.
        while (list.length > 1 && list[1]!.atMs <= nowMs - windowMs) list.shift();
        history.set(snapshot.replica, list);
      }
      for (const [replica, list] of history) if (list.at(-1)!.atMs < nowMs - windowMs) history.delete(replica);
    },
    totals() {
      const providers: Record<string, ProviderCounts> = {};
      let requests = 0;
      let rateLimited = 0;
      let costMicros = 0;
      let spanMs = 0;
      for (const list of history.values()) {
        const latest = list.at(-1)!;
        let base: typeof zero = list[0]!;
        if (latest.requests < base.requests || latest.costMicros < base.costMicros) base = zero;
        else spanMs = Math.max(spanMs, latest.atMs - list[0]!.atMs);
        requests += latest.requests - base.requests;
        rateLimited += latest.rateLimited - base.rateLimited;
        costMicros += latest.costMicros - base.costMicros;
        for (const [name, counts] of Object.entries(latest.providers)) addProvider(providers, name, counts, base.providers[name]);
      }
      return { spanMs, providers, requests, rateLimited, costMicros };
    },
  };
}

// The q-quantile's bucket bound in ms; Infinity when it lies past the largest finite bound.
export function quantileMs(counts: ProviderCounts, q: number): number {
  const target = Math.ceil(q * counts.answers);
  return counts.ttfb.find(([, count]) => count >= target)?.[0] ?? Number.POSITIVE_INFINITY;
}
