// The in-process budget store for the embedded default: the same state machine as lua/*.lua, line
// for line, over Maps. Each method runs to completion without awaiting, which gives the same
// all-or-nothing atomicity a Lua script has. Keys expire by the caller's clock (nowMs), not the
// wall clock, so an injected clock drives both windows and expiry. Settle hands the usage event to
// onUsageEvent (the embedded usage queue) in the same step, where Redis would XADD it.
import type { UsageEvent } from '../usage/event.js';
import { ceilDiv } from './int-math.js';
import { leaseSetKey, reservationKey } from './keys.js';
import {
  crossingLevels,
  type BucketDebit,
  type BucketMeasure,
  type BudgetStore,
  type StoreCrossing,
  type StoreReserveRequest,
  type StoreReserveResult,
  type StoreSettleRequest,
  type StoreSettleResult,
  type SliceBucket,
  type SliceFlushResult,
  type SliceTake,
  type SliceTakeResult,
} from './store.js';

export interface MemoryBudgetStoreOptions {
  readonly keyPrefix: string;
  readonly recordRetentionMs: number;
  readonly onUsageEvent: (event: UsageEvent) => void;
}

interface Counter {
  used: number;
  reserved: number;
  crossed: number; // highest crossing level reported in this window: 0 none, 1..3
  expireAtMs: number; // 0: never
}

interface Rate {
  tatUs: number;
  expireAtMs: number;
}

// What reserve debited, bucket by bucket in request order: settle and the reaper adjust exactly
// these, whatever the request says (reserve.lua keeps the same in its record).
interface ReservationRecord {
  state: 'open' | 'settled' | 'reaped';
  deadlineMs: number;
  outputTokens: number;
  debits: readonly BucketDebit[];
  expireAtMs: number;
}

// One replica's slices in one org (lua/slice-*.lua keep the same in a hash and a sorted set).
interface SliceHolder {
  deadlineMs: number;
  // kind + bucket key -> amount held
  held: Map<string, number>;
}

const sliceField = (b: SliceBucket): string => (b.kind === 'counter' ? 'c' : 'g') + b.key;

// How often reapExpired also drops expired counters, rates and records (Redis does this itself).
const sweepEveryMs = 60_000;

export function createMemoryBudgetStore(options: MemoryBudgetStoreOptions): BudgetStore {
  const { keyPrefix, recordRetentionMs, onUsageEvent } = options;
  const counters = new Map<string, Counter>();
  const rates = new Map<string, Rate>();
  const records = new Map<string, ReservationRecord>();
  const leases = new Map<string, Map<string, number>>(); // lease set key -> id -> deadline
  const epochs = new Map<string, number>(); // orgId -> since when its counters are all here
  const sliceHolders = new Map<string, Map<string, SliceHolder>>(); // orgId -> holder id -> slices
  let lastSweepMs = 0;

  const live = <T extends { expireAtMs: number }>(map: Map<string, T>, key: string, nowMs: number): T | undefined => {
    const value = map.get(key);
    if (value && value.expireAtMs !== 0 && value.expireAtMs <= nowMs) {
      map.delete(key);
      return undefined;
    }
    return value;
  };

  const leaseSet = (orgId: string): Map<string, number> => {
    const key = leaseSetKey(keyPrefix, orgId);
    let set = leases.get(key);
    if (!set) leases.set(key, (set = new Map()));
    return set;
  };

  function sweep(nowMs: number): void {
    if (nowMs - lastSweepMs < sweepEveryMs) return;
    lastSweepMs = nowMs;
    for (const map of [counters, rates, records] as Array<Map<string, { expireAtMs: number }>>) {
      for (const [key, value] of map) if (value.expireAtMs !== 0 && value.expireAtMs <= nowMs) map.delete(key);
    }
  }

  function reserve(req: StoreReserveRequest): StoreReserveResult {
    const recordKey = reservationKey(keyPrefix, req.orgId, req.id);
    const { nowMs, promptTokens, promptCostNumerator, outputPerMTokMicros, buckets } = req;
    const amountFor = (measure: BucketMeasure, out: number): number => {
      if (measure === 'tokens') return promptTokens + out;
      if (measure === 'costMicros') return ceilDiv(promptCostNumerator + out * outputPerMTokMicros, 1_000_000);
      return 1;
    };
    const replayed = live(records, recordKey, nowMs);
    if (replayed) {
      // A retried reserve (its reply was lost): answer as before, whatever happened since.
      const zeros = buckets.map(() => 0);
      const amounts = buckets.map((b) => amountFor(b.measure, replayed.outputTokens));
      return { status: 'replayed', outputTokens: replayed.outputTokens, remaining: zeros, waitMs: zeros, amounts, missing: [] };
    }
    const nowUs = nowMs * 1000;

    const state = buckets.map((b) =>
      b.kind === 'counter' ? live(counters, b.key, nowMs) : Math.max(live(rates, b.key, nowMs)?.tatUs ?? 0, nowUs),
    );

    // As reserve.lua: a counter missing from a window that began no later than the org's epoch was
    // lost (here: the process restarted) and is rebuilt from the ledger before anything is debited.
    if (buckets.some((b, i) => b.kind === 'counter' && state[i] === undefined)) {
      let epoch = epochs.get(req.orgId);
      if (epoch === undefined) epochs.set(req.orgId, (epoch = nowMs));
      const since = epoch;
      const missing = buckets.flatMap((b, i) => (b.ledgerFromMs !== null && state[i] === undefined && b.ledgerFromMs <= since ? [i] : []));
      if (missing.length > 0) return { status: 'restore', outputTokens: 0, remaining: [], waitMs: [], amounts: [], missing };
    }

    let out = req.maxOutputTokens;
    buckets.forEach((b, i) => {
      if (b.kind !== 'counter' || !b.clamp) return;
      const c = state[i] as Counter | undefined;
      const left = b.limit - (c?.used ?? 0) - (c?.reserved ?? 0);
      if (b.measure === 'tokens') out = Math.min(out, left - promptTokens);
      else if (b.measure === 'costMicros' && outputPerMTokMicros > 0) {
        out = Math.min(out, Math.floor((left * 1_000_000 - promptCostNumerator) / outputPerMTokMicros));
      }
    });
    out = Math.min(req.maxOutputTokens, Math.max(out, req.minOutputTokens));

    const amounts: number[] = [];
    const newTatUs: number[] = [];
    const remaining: number[] = [];
    const waitMs: number[] = [];
    buckets.forEach((b, i) => {
      const units = amountFor(b.measure, out);
      amounts.push(units);
      if (b.kind === 'counter') {
        const c = state[i] as Counter | undefined;
        remaining.push(b.limit - (c?.used ?? 0) - (c?.reserved ?? 0) - units);
        waitMs.push(0);
        newTatUs.push(0);
        return;
      }
      const periodUs = b.periodMs * 1000;
      const tat = (state[i] as number) + ceilDiv(units * periodUs, b.limit);
      const over = tat - nowUs - periodUs;
      newTatUs.push(tat);
      // + 0 turns -0 into 0, as Redis does when it turns a Lua number into an integer reply.
      remaining.push(Math.floor((-over * b.limit) / periodUs) + 0);
      waitMs.push(over > 0 ? (units > b.limit ? -1 : ceilDiv(over, 1000)) : ceilDiv(tat - nowUs, 1000));
    });
    if (remaining.some((r) => r < 0)) return { status: 'denied', outputTokens: out, remaining, waitMs, amounts, missing: [] };

    const debits: BucketDebit[] = [];
    buckets.forEach((b, i) => {
      const amount = amounts[i]!;
      debits.push({ bucket: b, amount, expireAtMs: b.kind === 'counter' && b.ttlMs > 0 ? nowMs + b.ttlMs : 0 });
      if (b.kind === 'gcra') {
        const tat = newTatUs[i]!;
        rates.set(b.key, { tatUs: tat, expireAtMs: nowMs + Math.max(1, ceilDiv(tat - nowUs, 1000)) });
        return;
      }
      let c = state[i] as Counter | undefined;
      if (!c) counters.set(b.key, (c = { used: 0, reserved: 0, crossed: 0, expireAtMs: b.ttlMs > 0 ? nowMs + b.ttlMs : 0 }));
      c.reserved += amount;
      if (b.ttlMs > 0 && b.sliding) c.expireAtMs = nowMs + b.ttlMs;
    });
    records.set(recordKey, { state: 'open', deadlineMs: req.deadlineMs, outputTokens: out, debits, expireAtMs: req.deadlineMs + recordRetentionMs });
    leaseSet(req.orgId).set(req.id, req.deadlineMs);
    return { status: 'reserved', outputTokens: out, remaining, waitMs, amounts, missing: [] };
  }

  function settle(req: StoreSettleRequest): StoreSettleResult {
    const { nowMs } = req;
    const record = live(records, reservationKey(keyPrefix, req.orgId, req.id), nowMs);
    if (record?.state === 'settled') return { status: 'duplicate', crossings: [] };
    if (!record) {
      onUsageEvent(req.event);
      return { status: 'unknown', crossings: [] };
    }
    const open = record.state === 'open';
    const actualFor = (measure: BucketMeasure): number =>
      measure === 'tokens' ? req.actualTokens : measure === 'costMicros' ? req.actualCostMicros : measure === 'requests' ? 1 : 0;
    const crossings: StoreCrossing[] = [];
    record.debits.forEach(({ bucket, amount, expireAtMs }, index) => {
      if (bucket.kind === 'gcra') {
        const refund = amount - req.actualTokens;
        const rate = live(rates, bucket.key, nowMs);
        if (bucket.measure === 'tokens' && refund > 0 && rate) rate.tatUs -= ceilDiv(refund * bucket.periodMs * 1000, bucket.limit);
        return;
      }
      let c = live(counters, bucket.key, nowMs);
      if (open && c && amount > 0) c.reserved = Math.max(0, c.reserved - amount);
      const actual = actualFor(bucket.measure);
      if (actual <= 0 || (expireAtMs !== 0 && expireAtMs <= nowMs)) return;
      if (!c) counters.set(bucket.key, (c = { used: 0, reserved: 0, crossed: 0, expireAtMs }));
      c.used += actual;
      const level = c.used >= bucket.limit ? 3 : c.used >= bucket.criticalAt ? 2 : c.used >= bucket.warnAt ? 1 : 0;
      if (level > c.crossed) {
        c.crossed = level;
        crossings.push({ index, level: crossingLevels[level - 1]!, used: c.used });
      }
    });
    leaseSet(req.orgId).delete(req.id);
    record.state = 'settled';
    record.debits = [];
    record.expireAtMs = nowMs + recordRetentionMs;
    onUsageEvent(req.event);
    return { status: open ? 'settled' : 'late', crossings };
  }

  function renew(orgId: string, id: string, deadlineMs: number, nowMs: number): boolean {
    const record = live(records, reservationKey(keyPrefix, orgId, id), nowMs);
    if (record?.state !== 'open') return false;
    record.deadlineMs = deadlineMs;
    record.expireAtMs = deadlineMs + recordRetentionMs;
    leaseSet(orgId).set(id, deadlineMs);
    return true;
  }

  const holdersOf = (orgId: string): Map<string, SliceHolder> => {
    let holders = sliceHolders.get(orgId);
    if (!holders) sliceHolders.set(orgId, (holders = new Map()));
    return holders;
  };

  // A rate's free room in µs: its period, less how far its arrival time runs ahead of now.
  const rateFreeUs = (b: SliceBucket, nowMs: number): number => nowMs * 1000 + b.limit - Math.max(live(rates, b.key, nowMs)?.tatUs ?? 0, nowMs * 1000);

  function takeSlices(orgId: string, holderId: string, nowMs: number, deadlineMs: number, takes: readonly SliceTake[]): SliceTakeResult {
    const holders = holdersOf(orgId);
    const count = holders.size + (holders.has(holderId) ? 0 : 1);
    let ok = true;
    const free = takes.map(({ bucket: b }) => {
      if (b.kind === 'gcra') return rateFreeUs(b, nowMs);
      const c = live(counters, b.key, nowMs);
      if (!c) {
        ok = false;
        return 0;
      }
      return b.limit - c.used - c.reserved;
    });
    const amounts = takes.map((t, i) => Math.min(t.want, Math.floor(free[i]! / (4 * count))));
    if (takes.some((t, i) => amounts[i]! < t.min)) ok = false;
    if (!ok) return { granted: false, holders: count, amounts: takes.map(() => 0), free };
    let holder = holders.get(holderId);
    if (!holder) holders.set(holderId, (holder = { deadlineMs, held: new Map() }));
    holder.deadlineMs = deadlineMs;
    takes.forEach(({ bucket: b }, i) => {
      const amount = amounts[i]!;
      if (b.kind === 'counter') live(counters, b.key, nowMs)!.reserved += amount;
      else {
        const tatUs = Math.max(live(rates, b.key, nowMs)?.tatUs ?? 0, nowMs * 1000) + amount;
        rates.set(b.key, { tatUs, expireAtMs: nowMs + Math.max(1, ceilDiv(tatUs - nowMs * 1000, 1000)) });
      }
      holder.held.set(sliceField(b), (holder.held.get(sliceField(b)) ?? 0) + amount);
      free[i] = free[i]! - amount;
    });
    return { granted: true, holders: count, amounts, free };
  }

  function flushSlices(orgId: string, holderId: string, nowMs: number, deadlineMs: number, items: readonly { bucket: SliceBucket; used: number; giveBack: number }[], events: readonly UsageEvent[]): SliceFlushResult {
    const holder = holdersOf(orgId).get(holderId);
    const crossings: StoreCrossing[] = [];
    const free = items.map(({ bucket: b, used, giveBack }, index) => {
      const field = sliceField(b);
      const held = holder?.held.get(field) ?? 0;
      const shrink = Math.min(used + giveBack, held);
      if (holder && shrink > 0) {
        if (held - shrink > 0) holder.held.set(field, held - shrink);
        else holder.held.delete(field);
      }
      if (b.kind === 'gcra') {
        const rate = live(rates, b.key, nowMs);
        const back = Math.max(0, shrink - used);
        if (rate && back > 0) rate.tatUs -= back;
        return rateFreeUs(b, nowMs);
      }
      let c = live(counters, b.key, nowMs);
      if (c && shrink > 0) c.reserved = Math.max(0, c.reserved - shrink);
      if (used > 0 && (b.expireAtMs === 0 || b.expireAtMs > nowMs)) {
        if (!c) counters.set(b.key, (c = { used: 0, reserved: 0, crossed: 0, expireAtMs: b.expireAtMs }));
        c.used += used;
        const level = c.used >= b.limit ? 3 : c.used >= b.criticalAt ? 2 : c.used >= b.warnAt ? 1 : 0;
        if (level > c.crossed) {
          c.crossed = level;
          crossings.push({ index, level: crossingLevels[level - 1]!, used: c.used });
        }
      }
      return b.limit - (c?.used ?? 0) - (c?.reserved ?? 0);
    });
    if (holder) {
      if (holder.held.size === 0) holdersOf(orgId).delete(holderId);
      else holder.deadlineMs = deadlineMs;
    }
    for (const e of events) onUsageEvent(e);
    return { leased: holder !== undefined, free, crossings };
  }

  function reapSlices(orgId: string, nowMs: number, maxCount: number): number {
    const holders = holdersOf(orgId);
    let reaped = 0;
    for (const [id, holder] of holders) {
      if (reaped >= maxCount) break;
      if (holder.deadlineMs > nowMs) continue;
      for (const [field, amount] of holder.held) {
        const key = field.slice(1);
        if (field[0] === 'c') {
          const c = live(counters, key, nowMs);
          if (c) c.reserved = Math.max(0, c.reserved - amount);
        } else {
          const rate = live(rates, key, nowMs);
          if (rate) rate.tatUs -= amount;
        }
      }
      holders.delete(id);
      reaped += 1;
    }
    return reaped;
  }

  function reapExpired(orgId: string, nowMs: number, maxCount: number): number {
    sweep(nowMs);
    return reapReservations(orgId, nowMs, maxCount) + reapSlices(orgId, nowMs, maxCount);
  }

  function reapReservations(orgId: string, nowMs: number, maxCount: number): number {
    const set = leaseSet(orgId);
    const due = [...set].filter(([, deadlineMs]) => deadlineMs <= nowMs).sort((a, b) => a[1] - b[1]).slice(0, maxCount);
    let reaped = 0;
    for (const [id] of due) {
      const record = live(records, reservationKey(keyPrefix, orgId, id), nowMs);
      if (record?.state !== 'open') {
        set.delete(id);
        continue;
      }
      if (record.deadlineMs > nowMs) {
        set.set(id, record.deadlineMs);
        continue;
      }
      for (const { bucket, amount } of record.debits) {
        const c = bucket.kind === 'counter' && amount > 0 ? live(counters, bucket.key, nowMs) : undefined;
        if (c) c.reserved = Math.max(0, c.reserved - amount);
      }
      // The debits stay: a settle arriving later still charges actual usage to those buckets.
      record.state = 'reaped';
      record.expireAtMs = nowMs + recordRetentionMs;
      set.delete(id);
      reaped += 1;
    }
    return reaped;
  }

  return {
    kind: 'memory',
    // In process: never out of reach.
    reachable: () => true,
    reserve: async (req) => reserve(req),
    renew: async (orgId, id, deadlineMs, nowMs) => renew(orgId, id, deadlineMs, nowMs),
    settle: async (req) => settle(req),
    reapExpired: async (orgId, nowMs, maxCount) => reapExpired(orgId, nowMs, maxCount),
    appendUsage: async (event) => onUsageEvent(event),
    takeSlices: async (orgId, holderId, nowMs, deadlineMs, takes) => takeSlices(orgId, holderId, nowMs, deadlineMs, takes),
    flushSlices: async (orgId, holderId, nowMs, deadlineMs, items, events) => flushSlices(orgId, holderId, nowMs, deadlineMs, items, events),
    async renewSlices(orgId, holderId, deadlineMs) {
      const holder = holdersOf(orgId).get(holderId);
      if (holder) holder.deadlineMs = deadlineMs;
      return holder !== undefined;
    },

    async restore(_orgId, restored) {
      for (const c of restored) {
        if (live(counters, c.key, c.nowMs)) continue;
        counters.set(c.key, { used: c.used, reserved: 0, crossed: 0, expireAtMs: c.ttlMs === 0 ? 0 : c.nowMs + c.ttlMs });
      }
    },
    peek: async (_orgId, keys, nowMs) =>
      keys.map((key) => {
        const counter = live(counters, key, nowMs);
        return { used: counter?.used ?? 0, reserved: counter?.reserved ?? 0 };
      }),
  };
}
