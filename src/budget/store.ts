// The budget store interface: what both backends (Redis with Lua, and the in-process twin)
// implement with exactly the same semantics. The engine (engine.ts) plans buckets and turns the
// raw results into outcomes; stores only compare and add.
import type { UsageEvent } from '../usage/event.js';
import type { BudgetMetric, BudgetScope, BudgetWindow } from './rules.js';

// Which budget or limit a bucket enforces: what a 429 names and what a crossing reports.
export interface BucketRef {
  readonly scope: BudgetScope;
  readonly scopeId: string;
  readonly metric: BudgetMetric | 'concurrency';
  // Rate limits are smooth per-minute rates ('per_minute'); concurrency counts 'in_flight'.
  readonly window: BudgetWindow | 'per_minute' | 'in_flight';
}

// What one reservation debits from a bucket, as a function of the (possibly clamped) output tokens:
// tokens = prompt + output; costMicros = ceil((promptCostNumerator + output × outputPerMTok) / 1e6);
// requests and inflight = 1. At settle the actual tokens and cost replace the reserved amounts and
// inflight returns to 0.
export type BucketMeasure = 'tokens' | 'costMicros' | 'requests' | 'inflight';

export interface BucketPlan {
  readonly ref: BucketRef;
  // 'counter': used + reserved + amount <= limit within a window key. 'gcra': smooth rate per periodMs.
  readonly kind: 'counter' | 'gcra';
  readonly measure: BucketMeasure;
  readonly key: string;
  readonly limit: number;
  readonly clamp: boolean;
  // Counters: time from now until the key may be dropped (window end + grace); 0 keeps it forever.
  readonly ttlMs: number;
  // Counters: refresh the expiry on every reserve (sessions, concurrency) instead of only at creation.
  readonly sliding: boolean;
  // Counters: the used levels at which settle reports the warning and critical crossings.
  readonly warnAt: number;
  readonly criticalAt: number;
  // GCRA: the period the limit applies to (60 000 for rpm/tpm).
  readonly periodMs: number;
  // Counters: when the window resets (for Retry-After and x-ratelimit-reset-*); null never.
  readonly resetAtMs: number | null;
  // Counters the usage ledger can rebuild: when the window began (0 for total windows). null for
  // sessions (their idle expiry has no start to sum from), in-flight counts and rates.
  readonly ledgerFromMs: number | null;
}

export interface StoreReserveRequest {
  readonly id: string;
  readonly orgId: string;
  readonly nowMs: number;
  readonly deadlineMs: number;
  readonly promptTokens: number;
  // promptTokens × the highest input price per 1M tokens (cache writes can cost more than input).
  readonly promptCostNumerator: number;
  readonly outputPerMTokMicros: number;
  readonly maxOutputTokens: number;
  readonly minOutputTokens: number;
  readonly buckets: readonly BucketPlan[];
}

export interface StoreReserveResult {
  // 'replayed': a reservation with this id already exists; nothing was debited again.
  // 'restore': nothing was debited; the counters at `missing` were lost (they are gone, and their
  // window began no later than the org's epoch) and must be rebuilt from the ledger first.
  readonly status: 'reserved' | 'denied' | 'replayed' | 'restore';
  // Bucket indexes to rebuild when status is 'restore'; empty otherwise.
  readonly missing: readonly number[];
  readonly outputTokens: number;
  // Per bucket, in request order: what remains after this request; negative means this bucket
  // refused it (0 when replayed: nothing was checked again).
  readonly remaining: readonly number[];
  // Per bucket: GCRA ms until the bucket is full again (reserved) or until the request would fit
  // (denied), -1 when it never fits; always 0 for counters, whose reset is the window end.
  readonly waitMs: readonly number[];
  // Per bucket: what the reservation debits (or would have) at outputTokens.
  readonly amounts: readonly number[];
}

// What one reservation took from one bucket: settle gives back exactly this.
export interface BucketDebit {
  readonly bucket: BucketPlan;
  readonly amount: number;
  // When the bucket's key may be dropped (reserve time + ttlMs); 0 never.
  readonly expireAtMs: number;
}

export interface RestoredCounter {
  readonly key: string;
  readonly used: number;
  // As BucketPlan.ttlMs at the time of the rebuild; 0 keeps it forever.
  readonly ttlMs: number;
  readonly nowMs: number;
}

export interface StoreSettleRequest {
  readonly id: string;
  readonly orgId: string;
  readonly nowMs: number;
  readonly actualTokens: number;
  readonly actualCostMicros: number;
  readonly event: UsageEvent;
  // No buckets: the store's reservation record holds what reserve debited (the reservation's
  // debits, in the same order) and whether it is still reserved (open), already returned (reaped)
  // or settled, so settle adjusts exactly those keys even if budgets changed in between.
}

export type CrossingLevel = 'warning' | 'critical' | 'exceeded';

export interface StoreCrossing {
  // Index into the reservation's debits (reserve's bucket order).
  readonly index: number;
  readonly level: CrossingLevel;
  readonly used: number;
}

export interface StoreSettleResult {
  // 'late': the reaper had already returned the reservation; actual usage was charged alone.
  // 'unknown': no record (never reserved, or retention passed); only the usage event was appended.
  readonly status: 'settled' | 'late' | 'duplicate' | 'unknown';
  readonly crossings: readonly StoreCrossing[];
}

// Replica-local slices (src/budget/slices.ts): a holder (one gateway process) moves part of a
// bucket's free room into a slice of its own in one atomic call and admits requests against it in
// process. Amounts are slice units: a counter's own units, or µs of a rate's theoretical arrival
// time, whose limit is then its period in µs (its whole room).
export interface SliceBucket {
  readonly kind: 'counter' | 'gcra';
  readonly key: string;
  readonly limit: number;
  // Counters: crossing levels, and when the key may be dropped (0 never), as BucketDebit.
  readonly warnAt: number;
  readonly criticalAt: number;
  readonly expireAtMs: number;
}

export interface SliceTake {
  readonly bucket: SliceBucket;
  readonly want: number;
  // A smaller grant is not worth a slice: then no bucket gets one (the per-request path is exact).
  readonly min: number;
}

export interface SliceTakeResult {
  readonly granted: boolean;
  // Replicas holding slices of this org, this one included.
  readonly holders: number;
  // Per bucket: the grant (all 0 when refused), and the free room left outside every slice.
  readonly amounts: readonly number[];
  readonly free: readonly number[];
}

export interface SliceFlushItem {
  readonly bucket: SliceBucket;
  // Counters: charged to used; rates: time spent. Both leave the slice.
  readonly used: number;
  // Unspent room handed back to the bucket.
  readonly giveBack: number;
}

export interface SliceFlushResult {
  // False when the reaper had returned this holder's slices: nothing was given back twice, the
  // usage was still charged.
  readonly leased: boolean;
  // Per item: the free room left outside every slice.
  readonly free: readonly number[];
  // Counter levels crossed by this flush (index into the items).
  readonly crossings: readonly StoreCrossing[];
}

export interface BudgetStore {
  readonly kind: 'redis' | 'memory';
  reserve(request: StoreReserveRequest): Promise<StoreReserveResult>;
  // Moves an open reservation's deadline; false when it is no longer open (settled or reaped).
  renew(orgId: string, id: string, deadlineMs: number, nowMs: number): Promise<boolean>;
  settle(request: StoreSettleRequest): Promise<StoreSettleResult>;
  // Returns up to maxCount of the org's reservations, and of its slice holders, whose deadline has
  // passed; how many it returned.
  reapExpired(orgId: string, nowMs: number, maxCount: number): Promise<number>;
  // Moves room from the buckets into the holder's slices, all or nothing.
  takeSlices(orgId: string, holderId: string, nowMs: number, deadlineMs: number, takes: readonly SliceTake[]): Promise<SliceTakeResult>;
  // Charges what the holder's requests used, gives back unspent room, appends their usage events,
  // and moves the holder's deadline, in one step.
  flushSlices(orgId: string, holderId: string, nowMs: number, deadlineMs: number, items: readonly SliceFlushItem[], events: readonly UsageEvent[]): Promise<SliceFlushResult>;
  // False unless the connection is up and ready: between reconnect attempts ioredis reports
  // 'connecting', which is no proof Redis is back. Slices then admit nothing: requests take the
  // per-request path, which refuses (or serves unmetered) as budget.failureMode says, instead of
  // being served on room whose usage cannot be flushed (fault/redis-down).
  reachable(): boolean;
  // Moves the holder's deadline; false when the reaper already returned its slices.
  renewSlices(orgId: string, holderId: string, deadlineMs: number): Promise<boolean>;
  // Appends a usage event that no reservation covers (a request no bucket applies to).
  appendUsage(event: UsageEvent): Promise<void>;
  // Recreates lost counters with the ledger's usage, each only if still missing (replicas racing
  // to rebuild the same counter add it once).
  restore(orgId: string, counters: readonly RestoredCounter[]): Promise<void>;
  // Reads counter buckets (used and still reserved) without changing them; a missing key is 0/0.
  peek(orgId: string, keys: readonly string[], nowMs: number): Promise<Array<{ used: number; reserved: number }>>;
}

// The store could not be reached or answered with an error: the core maps it to 503
// budget_unavailable, or serves the request when budget.failureMode is 'open'.
export class BudgetStoreUnavailableError extends Error {
  override name = 'BudgetStoreUnavailableError';
}

export const crossingLevels: readonly CrossingLevel[] = ['warning', 'critical', 'exceeded'];
