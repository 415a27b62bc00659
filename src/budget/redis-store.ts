// The Redis budget store: Lua scripts (lua/*.lua) registered with defineCommand, so each call is
// one EVALSHA. Every script declares every key it touches in KEYS (Redis Cluster routes by them,
// and servers that check key access refuse undeclared ones); all of an org's keys share its {org}
// hash tag, so each call lands on one slot. Reserve sends the buckets once; the reservation record
// keeps them, so settle adjusts exactly what reserve debited even if budgets changed since: settle
// and the reaper read the records first to learn which keys to declare. Reserve is on the
// request's path and goes at once; settles and unbudgeted usage events come after the answer, so
// those finishing together share one read and one call per org. Give it a client with
// enableAutoPipelining so concurrent reserves share round trips (not a Cluster's: see
// src/redis/connect.ts), and with a short commandTimeout so a hung Redis (or Cluster node) fails
// requests instead of queueing them.
import { readFileSync } from 'node:fs';
import type { Result } from 'ioredis';
import type { RedisClient } from '../redis/connect.js';
import { createBatcher } from './batcher.js';
import { epochKey, leaseSetKey, reservationKey, sliceHashKey, sliceLeaseSetKey, usageStreamKey } from './keys.js';
import {
  BudgetStoreUnavailableError,
  crossingLevels,
  type BucketPlan,
  type BudgetStore,
  type StoreCrossing,
  type StoreReserveRequest,
  type StoreReserveResult,
  type StoreSettleRequest,
  type StoreSettleResult,
  type SliceBucket,
} from './store.js';

// Every reply element of reserve.lua and settle.lua is an integer.
type Reply = number[];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tollgateReserve(...keysAndArgs: Array<string | number>): Result<Reply, Context>;
    tollgateSettle(...keysAndArgs: Array<string | number>): Result<Reply, Context>;
    tollgateRenew(...keysAndArgs: Array<string | number>): Result<number, Context>;
    tollgateReap(...keysAndArgs: Array<string | number>): Result<number, Context>;
    tollgateAppend(...keysAndArgs: string[]): Result<number, Context>;
    tollgateRestore(...keysAndArgs: Array<string | number>): Result<number, Context>;
    tollgateSliceTake(...keysAndArgs: Array<string | number>): Result<Reply, Context>;
    tollgateSliceFlush(...keysAndArgs: Array<string | number>): Result<Reply, Context>;
    tollgateSliceRenew(...keysAndArgs: Array<string | number>): Result<number, Context>;
    tollgateSliceReap(...keysAndArgs: Array<string | number>): Result<number, Context>;
  }
}

const luaFile = (name: string): string => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
// Each script is the shared helpers (lib.lua) followed by its own body.
const script = (name: string): string => luaFile('lib') + luaFile(name);

export interface RedisBudgetStoreOptions {
  readonly redis: RedisClient;
  // Must match the prefix the planner used for bucket keys (config redisKeyPrefix).
  readonly keyPrefix: string;
  readonly recordRetentionMs: number;
  // How long settles gather before their call (budget.batchWindowMs).
  readonly batchWindowMs: number;
  // How long the usage events of unbudgeted requests gather (budget.usageFlushMs; 0 one turn).
  readonly usageFlushMs: number;
}

const settleStatus = { 1: 'settled', 3: 'late', 2: 'duplicate', 0: 'unknown' } as const;

const sliceKind = (b: SliceBucket): string => (b.kind === 'counter' ? 'c' : 'g');

const measureCode = { tokens: 't', costMicros: 'c', requests: 'r', inflight: 'f' } as const;

// One bucket as reserve.lua reads it: a four-character spec (kind, measure, clamp, sliding
// expiry), then the numbers; its key travels in KEYS. The record keeps the line with the key
// appended last (a session id may hold spaces).
const bucketLine = (b: BucketPlan): string =>
  `\n${b.kind === 'counter' ? 'c' : 'g'}${measureCode[b.measure]}${b.clamp ? '1' : '0'}${b.sliding ? '1' : '0'} ${b.limit} ${b.ttlMs} ${b.periodMs} ${b.warnAt} ${b.criticalAt}`;

// The bucket keys a stored record names (see lua/reserve.lua): each line after the header, past
// its six fields.
function recordKeys(record: string | null, into: Set<string>): void {
  if (!record) return;
  for (const line of record.split('\n').slice(1)) {
    let at = -1;
    for (let field = 0; field < 6; field++) at = line.indexOf(' ', at + 1);
    if (at >= 0) into.add(line.slice(at + 1));
  }
}

// Bounds one batched call, so a burst does not become one huge script run that blocks Redis.
const maxBatch = 128;
const maxBatchBytes = 256 * 1024;

// settle.lua's reply: per reservation, status, crossing count, then the crossings.
function parseSettleReply(reply: Reply, count: number): StoreSettleResult[] {
  const results: StoreSettleResult[] = [];
  let at = 0;
  for (let n = 0; n < count; n++) {
    const status = settleStatus[reply[at] as 0 | 1 | 2 | 3];
    const crossingCount = reply[at + 1] as number;
    at += 2;
    const crossings: StoreCrossing[] = [];
    for (let c = 0; c < crossingCount; c++, at += 3) {
      crossings.push({ index: (reply[at] as number) - 1, level: crossingLevels[(reply[at + 1] as number) - 1]!, used: reply[at + 2] as number });
    }
    results.push({ status, crossings });
  }
  return results;
}

const lostStates = new Set(['reconnecting', 'close', 'end']);

export function createRedisBudgetStore(options: RedisBudgetStoreOptions): BudgetStore {
  const { redis, keyPrefix, recordRetentionMs, batchWindowMs, usageFlushMs } = options;
  // Once the connection is lost, ioredis queues commands until it reconnects or gives up. A
  // request waiting on reserve must not sit in that queue, so reserve fails at once (503, or
  // served when fail-open); settles and renewals run after the answer and may wait out a blip.
  // The first connect is not a loss: commands wait for it (bounded by the command timeout).
  const guarded = async <T>(what: string, run: () => Promise<T>, failFast = false): Promise<T> => {
    if (failFast && lostStates.has(redis.status)) throw new BudgetStoreUnavailableError(`budget store ${what} failed: Redis connection is ${redis.status}`);
    try {
      return await run();
    } catch (err) {
      throw new BudgetStoreUnavailableError(`budget store ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  };
  // Scripts whose key count varies take it as their first argument.
  redis.defineCommand('tollgateReserve', { lua: script('reserve') });
  redis.defineCommand('tollgateRestore', { lua: luaFile('restore') });
  redis.defineCommand('tollgateSettle', { lua: script('settle') });
  redis.defineCommand('tollgateRenew', { numberOfKeys: 2, lua: script('renew') });
  redis.defineCommand('tollgateReap', { lua: script('reap') });
  redis.defineCommand('tollgateAppend', { numberOfKeys: 1, lua: luaFile('append') });
  redis.defineCommand('tollgateSliceTake', { lua: script('slice-take') });
  redis.defineCommand('tollgateSliceFlush', { lua: script('slice-flush') });
  redis.defineCommand('tollgateSliceRenew', { numberOfKeys: 1, lua: luaFile('slice-renew') });
  redis.defineCommand('tollgateSliceReap', { lua: script('slice-reap') });
  // One stream entry per batch (append.lua), as slice flushes write theirs.
  const appends = createBatcher<string, void>({
    windowMs: usageFlushMs,
    maxItems: maxBatch,
    maxBytes: maxBatchBytes,
    sizeOf: (json) => json.length,
    run: async (streamKey, events) => {
      await redis.tollgateAppend(streamKey, ...events);
      return events.map(() => undefined);
    },
  });
  // Keyed by org: one call settles the org's batch (its keys share one Cluster slot).
  const settles = createBatcher<StoreSettleRequest, StoreSettleResult>({
    windowMs: batchWindowMs,
    maxItems: maxBatch,
    run: async (orgId, batch) => {
      const records = batch.map((req) => reservationKey(keyPrefix, orgId, req.id));
      const bucketKeys = new Set<string>();
      for (const record of await redis.mget(...records)) recordKeys(record, bucketKeys);
      const keys = [leaseSetKey(keyPrefix, orgId), usageStreamKey(keyPrefix, orgId), ...records, ...bucketKeys];
      const args: Array<string | number> = [keys.length, ...keys, recordRetentionMs];
      for (const req of batch) args.push(req.id, req.nowMs, req.actualTokens, req.actualCostMicros, JSON.stringify(req.event));
      return parseSettleReply(await redis.tollgateSettle(...args), batch.length);
    },
  });

  return {
    reachable: () => redis.status === 'ready',
    kind: 'redis',

    reserve(req: StoreReserveRequest): Promise<StoreReserveResult> {
      const { buckets } = req;
      const n = buckets.length;
      let lines = '';
      let ledgerFrom = '';
      for (let i = 0; i < n; i++) {
        const bucket = buckets[i]!;
        lines += bucketLine(bucket);
        ledgerFrom += bucket.ledgerFromMs === null ? '- ' : `${bucket.ledgerFromMs} `;
      }
      return guarded('reserve', async () => {
        const reply = await redis.tollgateReserve(
          3 + n,
          reservationKey(keyPrefix, req.orgId, req.id),
          leaseSetKey(keyPrefix, req.orgId),
          epochKey(keyPrefix, req.orgId),
          ...buckets.map((b) => b.key),
          req.id,
          req.nowMs,
          req.deadlineMs,
          recordRetentionMs,
          req.promptTokens,
          req.promptCostNumerator,
          req.outputPerMTokMicros,
          req.maxOutputTokens,
          req.minOutputTokens,
          lines,
          ledgerFrom,
        );
        if (reply[0] === 4) return { status: 'restore', outputTokens: 0, remaining: [], waitMs: [], amounts: [], missing: reply.slice(2).map((i) => i - 1) };
        const status = reply[0] === 1 ? 'reserved' : reply[0] === 0 ? 'denied' : 'replayed';
        const remaining: number[] = new Array(n);
        const waitMs: number[] = new Array(n);
        const amounts: number[] = new Array(n);
        for (let i = 0; i < n; i++) {
          remaining[i] = reply[2 + i * 3] as number;
          waitMs[i] = reply[3 + i * 3] as number;
          amounts[i] = reply[4 + i * 3] as number;
        }
        return { status, outputTokens: reply[1] as number, remaining, waitMs, amounts, missing: [] };
      }, true);
    },

    renew(orgId, id, deadlineMs, nowMs) {
      return guarded('renew', async () => {
        const renewed = await redis.tollgateRenew(reservationKey(keyPrefix, orgId, id), leaseSetKey(keyPrefix, orgId), id, nowMs, deadlineMs, recordRetentionMs);
        return renewed === 1;
      });
    },

    settle(req: StoreSettleRequest): Promise<StoreSettleResult> {
      // The buckets and amounts come from the record reserve.lua wrote: only the usage travels.
      return guarded('settle', () => settles.add(req.orgId, req));
    },

    // Reads the expired leases and their records, then returns them in one call that declares
    // every key; the script checks each record again, so a settle in between is not undone. Then
    // the same for slice holders whose lease ran out (a dead replica's slices).
    reapExpired(orgId, nowMs, maxCount) {
      return guarded('reap', async () => {
        const leases = leaseSetKey(keyPrefix, orgId);
        const ids = await redis.zrangebyscore(leases, '-inf', nowMs, 'LIMIT', 0, maxCount);
        let reaped = 0;
        if (ids.length > 0) {
          const records = ids.map((id) => reservationKey(keyPrefix, orgId, id));
          const bucketKeys = new Set<string>();
          for (const record of await redis.mget(...records)) recordKeys(record, bucketKeys);
          const keys = [leases, ...records, ...bucketKeys];
          reaped += await redis.tollgateReap(keys.length, ...keys, nowMs, recordRetentionMs, ...ids);
        }
        const sliceLeases = sliceLeaseSetKey(keyPrefix, orgId);
        const holders = await redis.zrangebyscore(sliceLeases, '-inf', nowMs, 'LIMIT', 0, maxCount);
        if (holders.length === 0) return reaped;
        const hashes = holders.map((h) => sliceHashKey(keyPrefix, orgId, h));
        const bucketKeys = new Set<string>();
        for (const fields of await Promise.all(hashes.map((h) => redis.hkeys(h)))) for (const f of fields) bucketKeys.add(f.slice(1));
        const keys = [sliceLeases, ...hashes, ...bucketKeys];
        return reaped + (await redis.tollgateSliceReap(keys.length, ...keys, nowMs, ...holders));
      });
    },

    takeSlices(orgId, holderId, nowMs, deadlineMs, takes) {
      const args: Array<string | number> = [takes.length + 2, sliceLeaseSetKey(keyPrefix, orgId), sliceHashKey(keyPrefix, orgId, holderId)];
      for (const t of takes) args.push(t.bucket.key);
      args.push(holderId, nowMs, deadlineMs);
      for (const t of takes) args.push(sliceKind(t.bucket), t.bucket.limit, t.want, t.min);
      return guarded('take slices', async () => {
        const reply = await redis.tollgateSliceTake(...args);
        const amounts: number[] = [];
        const free: number[] = [];
        for (let i = 0; i < takes.length; i++) {
          amounts.push(reply[2 + i * 2] as number);
          free.push(reply[3 + i * 2] as number);
        }
        return { granted: reply[0] === 1, holders: reply[1] as number, amounts, free };
      }, true);
    },

    flushSlices(orgId, holderId, nowMs, deadlineMs, items, events) {
      const n = items.length;
      const args: Array<string | number> = [n + 3, sliceLeaseSetKey(keyPrefix, orgId), sliceHashKey(keyPrefix, orgId, holderId), usageStreamKey(keyPrefix, orgId)];
      for (const it of items) args.push(it.bucket.key);
      args.push(holderId, nowMs, deadlineMs, n);
      for (const { bucket: b, used, giveBack } of items) args.push(sliceKind(b), used, giveBack, b.limit, b.warnAt, b.criticalAt, b.expireAtMs);
      for (const e of events) args.push(JSON.stringify(e));
      return guarded('flush slices', async () => {
        const reply = await redis.tollgateSliceFlush(...args);
        const free: number[] = [];
        const crossings: StoreCrossing[] = [];
        for (let i = 0; i < n; i++) {
          const at = 1 + i * 4;
          free.push(reply[at + 1] as number);
          const level = reply[at + 2] as number;
          if (level > 0) crossings.push({ index: i, level: crossingLevels[level - 1]!, used: reply[at + 3] as number });
        }
        return { leased: reply[0] === 1, free, crossings };
      });
    },

    renewSlices(orgId, holderId, deadlineMs) {
      return guarded('renew slices', async () => (await redis.tollgateSliceRenew(sliceLeaseSetKey(keyPrefix, orgId), holderId, deadlineMs)) === 1);
    },

    appendUsage(event) {
      return guarded('append usage', () => appends.add(usageStreamKey(keyPrefix, event.orgId), JSON.stringify(event)));
    },

    restore(_orgId, counters) {
      const args: Array<string | number> = [counters.length, ...counters.map((c) => c.key)];
      for (const c of counters) args.push(c.used, c.ttlMs);
      return guarded('restore', async () => {
        await redis.tollgateRestore(...args);
      });
    },

    // One HMGET per key, pipelined; the keys share the org's hash tag, so Cluster sends them to one node.
    peek(_orgId, keys) {
      return guarded('peek', async () => {
        const replies = await Promise.all(keys.map((key) => redis.hmget(key, 'u', 'r')));
        return replies.map(([used, reserved]) => ({ used: Number(used ?? 0), reserved: Number(reserved ?? 0) }));
      }, true);
    },
  };
}
