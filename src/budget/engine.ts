// The budget engine the request path calls: reserve before forwarding (DESIGN "Request path" step
// 5), keep the lease while the answer runs, settle with the real usage (step 8). It plans buckets
// from the compiled rules, calls one store (Redis or the in-process twin) and turns raw results
// into outcomes: a refusal is a value; only a broken store throws (BudgetStoreUnavailableError).
import type { CatalogModel } from '../config/catalog.js';
import { dearestInputPerMTok, priceFor } from '../pricing/cost.js';
import type { UsageEvent } from '../usage/event.js';
import { rateLimitHeaders, resetInMs } from './headers.js';
import type { BudgetPrincipal, CompiledBudgets } from './plan.js';
import type { BudgetConfig } from './rules.js';
import { ceilDiv } from './int-math.js';
import { createSettleRetry } from './settle-retry.js';
import { createSliceCache, type SliceHold } from './slices.js';
import { BudgetStoreUnavailableError, type BucketDebit, type BucketPlan, type BucketRef, type BudgetStore, type CrossingLevel, type StoreSettleRequest } from './store.js';

export interface ReserveInput {
  // The gateway's request id: reservation id, lease id and the usage event's requestId.
  readonly requestId: string;
  readonly principal: BudgetPrincipal;
  readonly sessionId: string | null;
  readonly model: CatalogModel;
  // Called only when a bucket applies: a request nothing meters is never counted up front.
  readonly promptTokens: () => number | Promise<number>;
  // From max_tokens / max_completion_tokens, or the catalog's cap.
  readonly maxOutputTokens: number;
  // The request body's service_tier, which can change the price (src/pricing/cost.ts).
  readonly serviceTier?: unknown;
  readonly nowMs: number;
}

export interface Reservation {
  readonly id: string;
  readonly orgId: string;
  // 'leased': debited in the store, must be settled. 'unmetered': no bucket applies. 'fail_open':
  // the store was down and budget.failureMode is 'open'; settle hands the usage to onUnrecordedUsage.
  readonly state: 'leased' | 'unmetered' | 'fail_open';
  readonly maxOutputTokens: number;
  // What was taken from each bucket; settle gives back exactly this even if the rules changed.
  readonly debits: readonly BucketDebit[];
  // Admitted against this replica's slices (no store record): settled through them.
  readonly slices?: SliceHold;
}

export type ReserveOutcome =
  | {
      readonly ok: true;
      readonly reservation: Reservation;
      // Send this upstream as max_tokens: lower than asked when a clamping budget is nearly spent.
      readonly maxOutputTokens: number;
      readonly clamped: boolean;
      readonly headers: Readonly<Record<string, string>>;
    }
  | {
      readonly ok: false;
      readonly code: 'budget_exceeded' | 'rate_limited';
      readonly bucket: BucketRef;
      // null: the bucket never resets by itself (a 'total' or 'session' budget, or a request bigger
      // than a per-minute rate); send no Retry-After.
      readonly retryAfterMs: number | null;
      // x-ratelimit-* plus retry-after and retry-after-ms when retryAfterMs is known.
      readonly headers: Readonly<Record<string, string>>;
    };

export interface Crossing {
  readonly bucket: BucketRef;
  readonly level: CrossingLevel;
  readonly used: number;
  readonly limit: number;
  // Unique per bucket and window (the Redis key): alerts dedupe on it.
  readonly bucketKey: string;
  // When the bucket's window ends (its alerts resolve then); null for windows that never end.
  readonly resetAtMs: number | null;
}

export interface SettleOutcome {
  // 'unrecorded': the store was unreachable; the event went to onUnrecordedUsage instead.
  // 'retrying': the store was unreachable; the settle is tried again (see settle-retry.ts).
  readonly status: 'settled' | 'late' | 'duplicate' | 'unknown' | 'unrecorded' | 'retrying';
  readonly crossings: readonly Crossing[];
}

export interface BudgetEngine {
  reserve(input: ReserveInput): Promise<ReserveOutcome>;
  // Pushes the lease deadline to nowMs + leaseMs; false when the reservation is no longer open.
  renew(reservation: Reservation, nowMs: number): Promise<boolean>;
  // Renews every leaseMs / 3 until the returned function is called (call it before settle).
  holdLease(reservation: Reservation): () => void;
  // Charges event.promptTokens + event.completionTokens and event.costMicros; never throws.
  settle(reservation: Reservation, event: UsageEvent, nowMs: number): Promise<SettleOutcome>;
  // Swaps the rules (config reload, control-plane change); open reservations keep their buckets.
  setRules(rules: CompiledBudgets): void;
  // Gives back this replica's slices and hands the settles still being retried to onUnrecordedUsage.
  stop(): Promise<void>;
}

export interface SliceOptions {
  // This process, unique among the replicas sharing the store.
  readonly holderId: string;
  readonly idleMs: number;
  readonly minRequests: number;
}

// The usage ledger's totals for buckets the store lost, each in its bucket's measure (tokens,
// cost micros or requests) from bucket.ledgerFromMs up to untilMs. Throws when the ledger is down.
export type LedgerTotals = (orgId: string, buckets: readonly BucketPlan[], untilMs: number) => Promise<readonly number[]>;

export interface BudgetEngineOptions {
  readonly store: BudgetStore;
  // Rebuilds counters the store lost (Redis restarted empty, the embedded process restarted).
  readonly ledger: LedgerTotals;
  readonly rules: CompiledBudgets;
  readonly config: Pick<BudgetConfig, 'failureMode' | 'leaseMs' | 'minOutputTokens' | 'recordRetentionMs' | 'usageFlushMs'>;
  // Replica-local slices (src/budget/slices.ts); without them every request reserves in the store.
  readonly slices?: SliceOptions;
  // Usage the store could not take (it was down at reserve or settle): the core writes it to the
  // ledger another way, so nothing served goes unrecorded.
  readonly onUnrecordedUsage: (event: UsageEvent) => void;
  // Store failures that were absorbed (fail-open, renew, settle); the core logs them.
  readonly onError?: (err: Error, context: 'reserve' | 'renew' | 'settle') => void;
  // A lost counter was rebuilt from the ledger with this used amount; the core logs and counts it.
  readonly onRebuild?: (bucket: BucketPlan, used: number) => void;
  readonly clock?: () => number;
}

// Settles waiting for the store to come back, at most: a burst in flight when a node went away.
const maxSettleRetries = 10_000;

// A concurrency cap frees up when some request finishes: suggest a short retry.
const inflightRetryMs = 1_000;

// Slices hold counters of tokens, cost and requests, and rates; in-flight caps and session budgets
// (a key per x-session-id, sliding expiry) stay on the per-request path.
const sliceable = (b: BucketPlan): boolean => b.kind === 'gcra' || (b.measure !== 'inflight' && !b.sliding);

// What a request takes from a bucket, in slice units (see SliceBucket), as reserve.lua computes it.
function sliceAmount(b: BucketPlan, promptTokens: number, promptCostNumerator: number, outPrice: number, out: number): number {
  const units = b.measure === 'tokens' ? promptTokens + out : b.measure === 'costMicros' ? ceilDiv(promptCostNumerator + out * outPrice, 1_000_000) : 1;
  return b.kind === 'gcra' ? ceilDiv(units * b.periodMs * 1000, b.limit) : units;
}

function denial(buckets: readonly BucketPlan[], remaining: readonly number[], waitMs: readonly number[], nowMs: number) {
  // Of the refusing buckets, name the one that frees up last: retrying earlier would fail again.
  let worst = -1;
  let worstRetry: number | null = 0;
  buckets.forEach((b, i) => {
    if (remaining[i]! >= 0) return;
    const retry = b.measure === 'inflight' ? inflightRetryMs : resetInMs(b, waitMs[i]!, nowMs);
    if (worst === -1 || worstRetry !== null && (retry === null || retry > worstRetry)) {
      worst = i;
      worstRetry = retry;
    }
  });
  const bucket = buckets[worst]!;
  const code = bucket.kind === 'gcra' || bucket.measure === 'inflight' ? 'rate_limited' : 'budget_exceeded';
  return { bucket, code, retryAfterMs: worstRetry } as const;
}

export function createBudgetEngine(options: BudgetEngineOptions): BudgetEngine {
  const { store, config, onUnrecordedUsage, ledger } = options;
  const clock = options.clock ?? Date.now;
  const onError = options.onError ?? (() => {});
  let rules = options.rules;
  const slices = options.slices
    ? createSliceCache({
        store,
        holderId: options.slices.holderId,
        leaseMs: config.leaseMs,
        idleMs: options.slices.idleMs,
        flushWindowMs: config.usageFlushMs,
        minRequests: options.slices.minRequests,
        clock,
        onError: (err) => onError(err, 'settle'),
        onUnrecordedUsage,
      })
    : undefined;
  const retries = createSettleRetry({
    settle: (request) => store.settle(request),
    maxPending: maxSettleRetries,
    // Half the record's retention: a settle landing later would find no record to charge.
    retryForMs: config.recordRetentionMs / 2,
    onGiveUp: (request, err) => {
      onError(err, 'settle');
      onUnrecordedUsage(request.event);
    },
    clock,
  });

  async function settle(reservation: Reservation, event: UsageEvent, nowMs: number): Promise<SettleOutcome> {
    if (reservation.state === 'fail_open') {
      onUnrecordedUsage(event);
      return { status: 'unrecorded', crossings: [] };
    }
    if (reservation.slices) {
      const hold = reservation.slices;
      const actualTokens = event.promptTokens + event.completionTokens;
      const used = reservation.debits.map(({ bucket: b }, i) => {
        if (b.kind === 'gcra') return b.measure === 'tokens' ? ceilDiv(actualTokens * b.periodMs * 1000, b.limit) : hold.amounts[i]!;
        return b.measure === 'tokens' ? actualTokens : b.measure === 'costMicros' ? event.costMicros : 1;
      });
      const result = await slices!.settle(hold, used, event);
      return {
        status: result.status,
        crossings: result.crossings.map(({ index, level, used: usedNow }) => {
          const { bucket } = reservation.debits[index]!;
          return { bucket: bucket.ref, level, used: usedNow, limit: bucket.limit, bucketKey: bucket.key, resetAtMs: bucket.resetAtMs };
        }),
      };
    }
    let request: StoreSettleRequest | undefined;
    try {
      if (reservation.state === 'unmetered') {
        await store.appendUsage(event);
        return { status: 'settled', crossings: [] };
      }
      request = {
        id: reservation.id,
        orgId: reservation.orgId,
        nowMs,
        actualTokens: event.promptTokens + event.completionTokens,
        actualCostMicros: event.costMicros,
        event,
      };
      const result = await store.settle(request);
      return {
        status: result.status,
        crossings: result.crossings.map(({ index, level, used }) => {
          const { bucket } = reservation.debits[index]!;
          return { bucket: bucket.ref, level, used, limit: bucket.limit, bucketKey: bucket.key, resetAtMs: bucket.resetAtMs };
        }),
      };
    } catch (err) {
      if (!(err instanceof BudgetStoreUnavailableError)) throw err;
      onError(err, 'settle');
      if (request && retries.add(request)) return { status: 'retrying', crossings: [] };
      // Full, or an unmetered event: the ledger gets the usage; a reservation left open is
      // returned by the reaper once its lease runs out.
      onUnrecordedUsage(event);
      return { status: 'unrecorded', crossings: [] };
    }
  }

  // Counters are rebuilt from the ledger's totals for their window; the store creates only those
  // still missing, so replicas rebuilding at the same time count them once. Within this process,
  // requests that find the same counter lost share one rebuild: after Redis loses its data, a busy
  // counter would otherwise send Postgres one query per waiting request.
  const rebuilding = new Map<string, Promise<void>>();

  function rebuild(orgId: string, bucket: BucketPlan, nowMs: number): Promise<void> {
    let running = rebuilding.get(bucket.key);
    if (!running) {
      running = (async () => {
        let used: number;
        try {
          [used = 0] = await ledger(orgId, [bucket], nowMs);
        } catch (err) {
          throw new BudgetStoreUnavailableError(`usage ledger unreachable while rebuilding lost budget counters: ${(err as Error).message}`, { cause: err });
        }
        await store.restore(orgId, [{ key: bucket.key, used, ttlMs: bucket.ttlMs, nowMs }]);
        options.onRebuild?.(bucket, used);
      })().finally(() => rebuilding.delete(bucket.key));
      rebuilding.set(bucket.key, running);
    }
    return running;
  }

  async function renew(reservation: Reservation, nowMs: number): Promise<boolean> {
    // A slice's lease is the holder's, kept while it holds anything.
    if (reservation.state !== 'leased' || reservation.slices) return true;
    try {
      return await store.renew(reservation.orgId, reservation.id, nowMs + config.leaseMs, nowMs);
    } catch (err) {
      if (!(err instanceof BudgetStoreUnavailableError)) throw err;
      onError(err, 'renew');
      return false;
    }
  }

  return {
    async reserve(input) {
      const { principal, nowMs, maxOutputTokens } = input;
      const buckets = rules.plan(principal, input.sessionId, nowMs);
      const unmetered = (state: Reservation['state']): ReserveOutcome => ({
        ok: true,
        reservation: { id: input.requestId, orgId: principal.orgId, state, maxOutputTokens, debits: [] },
        maxOutputTokens,
        clamped: false,
        headers: {},
      });
      if (buckets.length === 0) return unmetered('unmetered');

      const promptTokens = await input.promptTokens();
      const price = priceFor(input.model.price, { serviceTier: input.serviceTier, promptTokens });
      const request = {
        id: input.requestId,
        orgId: principal.orgId,
        nowMs,
        deadlineMs: nowMs + config.leaseMs,
        promptTokens,
        // Cached reads cost less and cache writes can cost more than input: reserve the most.
        promptCostNumerator: promptTokens * dearestInputPerMTok(price),
        outputPerMTokMicros: price.outputPerMTok,
        maxOutputTokens,
        minOutputTokens: Math.min(config.minOutputTokens, maxOutputTokens),
        buckets,
      };
      const useSlices = slices !== undefined && buckets.every(sliceable);
      const amounts = useSlices ? buckets.map((b) => sliceAmount(b, promptTokens, request.promptCostNumerator, price.outputPerMTok, maxOutputTokens)) : [];
      const local = useSlices ? slices.admit(principal.orgId, buckets, amounts, nowMs) : null;
      if (local) {
        const debits = buckets.map((bucket, i): BucketDebit => ({ bucket, amount: local.hold.amounts[i]!, expireAtMs: 0 }));
        const reservation: Reservation = { id: input.requestId, orgId: principal.orgId, state: 'leased', maxOutputTokens, debits, slices: local.hold };
        const headers = rateLimitHeaders(buckets, local.remaining, buckets.map(() => 0), nowMs);
        return { ok: true, reservation, maxOutputTokens, clamped: false, headers };
      }
      let result;
      try {
        result = await store.reserve(request);
        if (result.status === 'restore') {
          await Promise.all(result.missing.map((i) => rebuild(principal.orgId, buckets[i]!, nowMs)));
          result = await store.reserve(request);
          if (result.status === 'restore') throw new BudgetStoreUnavailableError('budget counters are still missing after their rebuild from the ledger');
        }
      } catch (err) {
        if (!(err instanceof BudgetStoreUnavailableError) || config.failureMode !== 'open') throw err;
        onError(err, 'reserve');
        return unmetered('fail_open');
      }

      const headers = result.status === 'replayed' ? {} : rateLimitHeaders(buckets, result.remaining, result.waitMs, nowMs);
      if (result.status === 'reserved' && useSlices) slices.refill(principal.orgId, buckets, amounts, nowMs);
      if (result.status !== 'denied') {
        const debits = buckets.map((bucket, i): BucketDebit => ({
          bucket,
          amount: result.amounts[i]!,
          expireAtMs: bucket.kind === 'counter' && bucket.ttlMs > 0 ? nowMs + bucket.ttlMs : 0,
        }));
        const reservation: Reservation = { id: input.requestId, orgId: principal.orgId, state: 'leased', maxOutputTokens: result.outputTokens, debits };
        return { ok: true, reservation, maxOutputTokens: result.outputTokens, clamped: result.outputTokens < maxOutputTokens, headers };
      }
      const { bucket, code, retryAfterMs } = denial(buckets, result.remaining, result.waitMs, nowMs);
      if (retryAfterMs !== null) {
        headers['retry-after'] = String(Math.ceil(retryAfterMs / 1000));
        headers['retry-after-ms'] = String(retryAfterMs);
      }
      return { ok: false, code, bucket: bucket.ref, retryAfterMs, headers };
    },

    renew,

    holdLease(reservation) {
      if (reservation.state !== 'leased' || reservation.slices) return () => {};
      const tick = (): void => {
        renew(reservation, clock()).catch((err: Error) => onError(err, 'renew'));
      };
      const timer = setInterval(tick, Math.max(1, Math.floor(config.leaseMs / 3)));
      timer.unref();
      return () => clearInterval(timer);
    },

    settle,

    setRules(next) {
      rules = next;
      // A slice taken under the old limits must not outlive them.
      slices?.returnAll();
    },

    // Without slices the retries are handed over before stop() returns its promise.
    async stop() {
      if (slices) await slices.close();
      retries.stop();
    },
  };
}
