// Replica-local budget slices: this process (the holder) takes part of a bucket's free room in one
// atomic store call and admits requests against it in process, so a request far from its limits
// costs no Redis call on its way in. Slices are sized by sliceWant (slice-sizing.ts) and capped by
// the store at a share of the free room that shrinks as the limit nears; below a floor the store
// grants nothing and requests take the per-request path, which is exact. A holder can spend only
// what it holds, so no budget is overspent. Settles accumulate here and leave with their usage
// events in one call per org every flushWindowMs (budget.usageFlushMs), or sooner once the org has
// maxEvents events or about maxEventBytes waiting. Slices go back on
// window rollover, after idleMs unused, when the bucket nears its limit (seen in a flush), on a
// rule change and at shutdown; a dead holder's go back through the reaper once its lease runs out.
import type { UsageEvent } from '../usage/event.js';
import { sliceWant } from './slice-sizing.js';
import { BudgetStoreUnavailableError, type BucketPlan, type BudgetStore, type SliceBucket, type SliceFlushItem, type StoreCrossing } from './store.js';

interface Slice {
  readonly bucket: SliceBucket;
  // The window's end (counters), when the slice goes back; null never.
  readonly resetAtMs: number | null;
  // Mirror of what the store holds for us; open, pending and sending are parts of it in use.
  held: number;
  // Reserved by requests admitted here and not yet settled.
  open: number;
  // Used by settled requests, not yet sent to the store; sending: in a flush call now.
  pending: number;
  sending: number;
  // Free room outside every slice, as last seen.
  free: number;
  // Going back: nothing more is admitted against it.
  returning: boolean;
  lastUsedMs: number;
  takenAtMs: number;
  spentSinceTake: number;
  // The last grant, and the smallest grant worth taking for this bucket (minRequests requests).
  lastGrant: number;
  minGrant: number;
}

// What one locally admitted request holds: settle gives exactly this back.
export interface SliceHold {
  readonly orgId: string;
  readonly slices: readonly Slice[];
  readonly amounts: readonly number[];
}

interface Waiter {
  readonly hold: SliceHold;
  readonly resolve: (outcome: LocalSettle) => void;
}

interface OrgSlices {
  readonly slices: Map<string, Slice>;
  // Bucket keys the store refused a slice for, until when: requests take the per-request path.
  readonly closedUntilMs: Map<string, number>;
  taking: boolean;
  // Replicas holding slices of this org, as the last take saw.
  holders: number;
  waiters: Waiter[];
  events: UsageEvent[];
  // Estimated JSON size of events (eventBytes).
  eventBytes: number;
  flushScheduled: boolean;
  // The timer of a scheduled flush, when it waits for the window rather than the next turn.
  flushTimer: NodeJS.Timeout | undefined;
  lastFlushMs: number;
}

export interface LocalSettle {
  readonly status: 'settled' | 'late' | 'unrecorded';
  // Index into the request's buckets.
  readonly crossings: readonly StoreCrossing[];
}

export interface LocalAdmit {
  readonly hold: SliceHold;
  // Per bucket, in its own units: what this replica sees left (its slice plus the free room).
  readonly remaining: readonly number[];
}

export interface SliceCacheOptions {
  readonly store: BudgetStore;
  readonly holderId: string;
  readonly leaseMs: number;
  // A slice unused this long goes back.
  readonly idleMs: number;
  // How long settles and their events gather before their flush (0: one event-loop turn).
  readonly flushWindowMs: number;
  // A slice covers at least this many requests of the size that asked for it, or none is taken.
  readonly minRequests: number;
  readonly clock: () => number;
  readonly onError: (err: Error) => void;
  // Usage events a failed flush could not append: the core writes them to the ledger another way.
  readonly onUnrecordedUsage: (event: UsageEvent) => void;
}

export interface SliceCache {
  // Admits against this replica's slices, or null: the request takes the per-request path.
  admit(orgId: string, buckets: readonly BucketPlan[], amounts: readonly number[], nowMs: number): LocalAdmit | null;
  // After a per-request reservation: take slices for this plan if the store has room to spare.
  refill(orgId: string, buckets: readonly BucketPlan[], amounts: readonly number[], nowMs: number): void;
  settle(hold: SliceHold, used: readonly number[], event: UsageEvent): Promise<LocalSettle>;
  // Gives back every slice (rules changed): nothing more is admitted against them.
  returnAll(): void;
  // Flushes and gives back everything; slices of requests still open stay until the reaper.
  close(): Promise<void>;
}

// Flushes carry at most this many events, and about this many bytes of them, so a burst never
// becomes one long script run and a crash loses at most that much usage per org.
const maxEvents = 128;
const maxEventBytes = 256 * 1024;

// An event's JSON size without serialising it twice: its fixed fields stay under 600 bytes; its
// caller tags (up to 16 pairs of 128 characters) are what varies.
function eventBytes(event: UsageEvent): number {
  let bytes = 600;
  for (const name in event.tags) bytes += name.length + event.tags[name]!.length + 6;
  return bytes;
}
// After a failed flush, its usage stays pending and is sent again this much later.
const retryMs = 200;

// A counter holds counter units; a rate, µs of its arrival time (its whole room is its period).
export function sliceBucketOf(b: BucketPlan, nowMs: number): SliceBucket {
  return {
    kind: b.kind,
    key: b.key,
    limit: b.kind === 'gcra' ? b.periodMs * 1000 : b.limit,
    warnAt: b.warnAt,
    criticalAt: b.criticalAt,
    expireAtMs: b.kind === 'counter' && b.ttlMs > 0 ? nowMs + b.ttlMs : 0,
  };
}

const available = (s: Slice): number => s.held - s.open - s.pending - s.sending;

export function createSliceCache(options: SliceCacheOptions): SliceCache {
  const { store, holderId, leaseMs, idleMs, flushWindowMs, minRequests, clock, onError, onUnrecordedUsage } = options;
  const orgs = new Map<string, OrgSlices>();
  let closing = false;

  const orgOf = (orgId: string): OrgSlices => {
    let org = orgs.get(orgId);
    if (!org) {
      org = { slices: new Map(), closedUntilMs: new Map(), taking: false, holders: 1, waiters: [], events: [], eventBytes: 0, flushScheduled: false, flushTimer: undefined, lastFlushMs: 0 };
      orgs.set(orgId, org);
    }
    return org;
  };

  function take(orgId: string, org: OrgSlices, buckets: readonly BucketPlan[], amounts: readonly number[], nowMs: number): void {
    if (org.taking || closing) return;
    if (buckets.some((b) => (org.closedUntilMs.get(b.key) ?? 0) > nowMs)) return;
    org.taking = true;
    const takes = buckets.map((b, i) => {
      const s = org.slices.get(b.key);
      const ratePerS = s && nowMs > s.takenAtMs ? (s.spentSinceTake * 1000) / (nowMs - s.takenAtMs) : 0;
      return { bucket: s?.bucket ?? sliceBucketOf(b, nowMs), want: sliceWant(amounts[i]!, ratePerS, minRequests), min: amounts[i]! * minRequests };
    });
    store
      .takeSlices(orgId, holderId, nowMs, nowMs + leaseMs, takes)
      .then((result) => {
        org.holders = result.holders;
        takes.forEach((t, i) => {
          const b = buckets[i]!;
          if (!result.granted) {
            // The bucket that has too little room stays on the per-request path for a while.
            if (Math.floor(result.free[i]! / (4 * result.holders)) < t.min) org.closedUntilMs.set(b.key, nowMs + idleMs);
            return;
          }
          // One slice per bucket key, as the store keeps one amount per key and holder: a slice
          // on its way back is taken up again.
          let s = org.slices.get(b.key);
          if (!s) {
            s = { bucket: t.bucket, resetAtMs: b.resetAtMs, held: 0, open: 0, pending: 0, sending: 0, free: 0, returning: false, lastUsedMs: nowMs, takenAtMs: nowMs, spentSinceTake: 0, lastGrant: 0, minGrant: 0 };
            org.slices.set(b.key, s);
          }
          s.returning = false;
          s.held += result.amounts[i]!;
          s.free = result.free[i]!;
          s.takenAtMs = nowMs;
          s.spentSinceTake = 0;
          s.lastGrant = result.amounts[i]!;
          s.minGrant = t.min;
        });
      })
      .catch((err: Error) => onError(err))
      .finally(() => {
        org.taking = false;
      });
  }

  // A flush waiting for its window is brought forward to the next turn when asked with delay 0.
  function scheduleFlush(orgId: string, org: OrgSlices, delayMs = flushWindowMs): void {
    if (org.flushScheduled && (delayMs > 0 || org.flushTimer === undefined)) return;
    clearTimeout(org.flushTimer);
    org.flushTimer = undefined;
    org.flushScheduled = true;
    const run = () => {
      org.flushScheduled = false;
      org.flushTimer = undefined;
      flush(orgId, org).catch((err: Error) => onError(err));
    };
    if (delayMs === 0) setImmediate(run);
    else org.flushTimer = setTimeout(run, delayMs).unref();
  }

  // Resolves false when the store could not take it.
  async function flush(orgId: string, org: OrgSlices): Promise<boolean> {
    const count = takeCount(org.events);
    const waiters = org.waiters.splice(0, count);
    const events = org.events.splice(0, count);
    org.eventBytes = org.events.reduce((sum, e) => sum + eventBytes(e), 0);
    if (org.waiters.length > 0) scheduleFlush(orgId, org, full(org) ? 0 : flushWindowMs);
    const sent: Array<{ slice: Slice; item: SliceFlushItem }> = [];
    for (const slice of org.slices.values()) {
      const giveBack = slice.returning ? Math.max(0, available(slice)) : 0;
      if (slice.pending === 0 && giveBack === 0) continue;
      const item = { bucket: slice.bucket, used: slice.pending, giveBack };
      slice.sending += slice.pending;
      slice.pending = 0;
      // Given back room leaves the mirror at once, so nothing is admitted against it meanwhile.
      slice.held -= giveBack;
      sent.push({ slice, item });
    }
    if (sent.length === 0 && events.length === 0) return true;
    const nowMs = clock();
    org.lastFlushMs = nowMs;
    try {
      const result = await store.flushSlices(orgId, holderId, nowMs, nowMs + leaseMs, sent.map((s) => s.item), events);
      sent.forEach(({ slice, item }, i) => {
        slice.sending -= item.used;
        slice.held = Math.max(0, slice.held - item.used);
        slice.free = result.free[i]!;
        // Near the limit (no replica could take a new slice) the room is better in the shared
        // pool, where the per-request path can use all of it, than stranded here.
        if (!slice.returning && Math.floor(slice.free / (4 * org.holders)) < slice.minGrant) {
          org.closedUntilMs.set(slice.bucket.key, nowMs + idleMs);
          markReturning(orgId, org, slice);
        }
      });
      if (!result.leased) for (const slice of org.slices.values()) slice.held = 0;
      for (const slice of [...org.slices.values()]) dropIfDone(org, slice);
      // A crossing is reported once, with the last request of this flush that touched its bucket.
      const crossingsFor = new Map<Waiter, StoreCrossing[]>();
      for (const c of result.crossings) {
        const slice = sent[c.index]!.slice;
        const w = waiters.findLast((x) => x.hold.slices.includes(slice));
        if (!w) continue;
        const list = crossingsFor.get(w) ?? [];
        list.push({ index: w.hold.slices.indexOf(slice), level: c.level, used: c.used });
        crossingsFor.set(w, list);
      }
      for (const w of waiters) w.resolve({ status: result.leased ? 'settled' : 'late', crossings: crossingsFor.get(w) ?? [] });
      return true;
    } catch (err) {
      if (!(err instanceof BudgetStoreUnavailableError)) throw err;
      onError(err);
      // The usage stays pending and goes with a later flush; the events reach the ledger another way.
      for (const { slice, item } of sent) {
        slice.sending -= item.used;
        slice.pending += item.used;
        slice.held += item.giveBack;
      }
      for (const e of events) onUnrecordedUsage(e);
      for (const w of waiters) w.resolve({ status: 'unrecorded', crossings: [] });
      if (!closing) scheduleFlush(orgId, org, retryMs);
      return false;
    }
  }

  const full = (org: OrgSlices): boolean => org.events.length >= maxEvents || org.eventBytes >= maxEventBytes;

  // How many of the waiting events the next flush carries: up to maxEvents and maxEventBytes.
  function takeCount(events: readonly UsageEvent[]): number {
    let bytes = 0;
    for (let i = 0; i < events.length && i < maxEvents; i++) {
      bytes += eventBytes(events[i]!);
      if (bytes > maxEventBytes) return Math.max(1, i);
    }
    return Math.min(events.length, maxEvents);
  }

  function dropIfDone(org: OrgSlices, slice: Slice): void {
    if (!slice.returning || slice.held > 0 || slice.open > 0 || slice.pending > 0 || slice.sending > 0) return;
    if (org.slices.get(slice.bucket.key) === slice) org.slices.delete(slice.bucket.key);
  }

  // Room going back is not held for the window: near the limit another replica may need it now.
  function markReturning(orgId: string, org: OrgSlices, slice: Slice): void {
    slice.returning = true;
    scheduleFlush(orgId, org, 0);
  }

  // Idle, rolled-over and near-limit slices go back; holders with anything out keep their lease.
  const sweeper = setInterval(() => {
    const nowMs = clock();
    for (const [orgId, org] of orgs) {
      for (const [key, untilMs] of org.closedUntilMs) if (untilMs <= nowMs) org.closedUntilMs.delete(key);
      for (const slice of org.slices.values()) {
        if (slice.returning) {
          if (slice.held > 0 && slice.held > slice.open + slice.pending + slice.sending) scheduleFlush(orgId, org);
          continue;
        }
        if (nowMs - slice.lastUsedMs >= idleMs || (slice.resetAtMs !== null && nowMs >= slice.resetAtMs)) markReturning(orgId, org, slice);
      }
      for (const slice of [...org.slices.values()]) dropIfDone(org, slice);
      if (org.slices.size === 0 && org.waiters.length === 0 && !org.taking) {
        orgs.delete(orgId);
        continue;
      }
      if (nowMs - org.lastFlushMs >= leaseMs / 3) {
        org.lastFlushMs = nowMs;
        store
          .renewSlices(orgId, holderId, nowMs + leaseMs)
          .then((renewed) => {
            if (!renewed) for (const slice of org.slices.values()) slice.held = 0;
          })
          .catch((err: Error) => onError(err));
      }
    }
  }, Math.max(10, Math.min(idleMs / 2, leaseMs / 6)));
  sweeper.unref();

  return {
    admit(orgId, buckets, amounts, nowMs) {
      const org = orgs.get(orgId);
      if (!org || closing || !store.reachable()) return null;
      const slices: Slice[] = [];
      for (let i = 0; i < buckets.length; i++) {
        const s = org.slices.get(buckets[i]!.key);
        if (!s || s.returning || available(s) < amounts[i]!) return null;
        slices.push(s);
      }
      const remaining: number[] = [];
      let low = false;
      slices.forEach((s, i) => {
        const amount = amounts[i]!;
        s.open += amount;
        s.lastUsedMs = nowMs;
        s.spentSinceTake += amount;
        const left = s.free + available(s);
        const b = buckets[i]!;
        remaining.push(b.kind === 'gcra' ? Math.floor((left * b.limit) / s.bucket.limit) : left);
        // Refill before running dry: a quarter of the last grant left.
        if (available(s) * 4 < s.lastGrant) low = true;
      });
      if (low) take(orgId, org, buckets, amounts, nowMs);
      return { hold: { orgId, slices, amounts }, remaining };
    },

    refill(orgId, buckets, amounts, nowMs) {
      take(orgId, orgOf(orgId), buckets, amounts, nowMs);
    },

    settle(hold, used, event) {
      const org = orgOf(hold.orgId);
      hold.slices.forEach((s, i) => {
        s.open -= hold.amounts[i]!;
        s.pending += used[i]!;
      });
      org.events.push(event);
      org.eventBytes += eventBytes(event);
      const settled = new Promise<LocalSettle>((resolve) => org.waiters.push({ hold, resolve }));
      scheduleFlush(hold.orgId, org, full(org) ? 0 : flushWindowMs);
      return settled;
    },

    returnAll() {
      for (const [orgId, org] of orgs) for (const slice of org.slices.values()) markReturning(orgId, org, slice);
    },

    async close() {
      closing = true;
      clearInterval(sweeper);
      for (const org of orgs.values()) {
        clearTimeout(org.flushTimer);
        org.flushTimer = undefined;
        org.flushScheduled = false;
      }
      await Promise.all(
        [...orgs].map(async ([orgId, org]) => {
          for (const slice of org.slices.values()) slice.returning = true;
          // A store that is away keeps what it could not take: the reaper returns the slices.
          while (org.waiters.length > 0 || [...org.slices.values()].some((s) => s.pending > 0 || available(s) > 0)) {
            if (!(await flush(orgId, org))) break;
          }
        }),
      );
    },
  };
}
