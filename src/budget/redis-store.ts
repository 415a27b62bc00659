// The Redis budget store: four Lua scripts (lua/*.lua) registered with defineCommand, so each call
// is one EVALSHA. Give it a client with enableAutoPipelining so concurrent requests share round
// trips, and with a short commandTimeout so a hung Redis fails requests instead of queueing them.
import { readFileSync } from 'node:fs';
import type { Cluster, Redis, Result } from 'ioredis';
import { leaseSetKey, reservationKey, usageStreamKey } from './keys.js';
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
} from './store.js';

type Reply = Array<number | string>;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tollgateReserve(numKeys: number, ...keysAndArgs: Array<string | number>): Result<Reply, Context>;
    tollgateSettle(...keysAndArgs: Array<string | number>): Result<Reply, Context>;
    tollgateRenew(...keysAndArgs: Array<string | number>): Result<number, Context>;
    tollgateReap(...keysAndArgs: Array<string | number>): Result<number, Context>;
  }
}

const script = (name: string): string => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

export interface RedisBudgetStoreOptions {
  readonly redis: Redis | Cluster;
  // Must match the prefix the planner used for bucket keys (config redisKeyPrefix).
  readonly keyPrefix: string;
  readonly recordRetentionMs: number;
}

const measureCode = { tokens: 't', costMicros: 'c', requests: 'r', inflight: 'f' } as const;

// The four-character spec reserve.lua reads: kind, measure, clamp, sliding expiry.
const specOf = (b: BucketPlan): string =>
  `${b.kind === 'counter' ? 'c' : 'g'}${measureCode[b.measure]}${b.clamp ? '1' : '0'}${b.sliding ? '1' : '0'}`;

async function guarded<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new BudgetStoreUnavailableError(`budget store ${what} failed: ${(err as Error).message}`, { cause: err });
  }
}

export function createRedisBudgetStore(options: RedisBudgetStoreOptions): BudgetStore {
  const { redis, keyPrefix, recordRetentionMs } = options;
  redis.defineCommand('tollgateReserve', { lua: script('reserve') });
  redis.defineCommand('tollgateSettle', { numberOfKeys: 3, lua: script('settle') });
  redis.defineCommand('tollgateRenew', { numberOfKeys: 2, lua: script('renew') });
  redis.defineCommand('tollgateReap', { numberOfKeys: 1, lua: script('reap') });

  return {
    kind: 'redis',

    reserve(req: StoreReserveRequest): Promise<StoreReserveResult> {
      const n = req.buckets.length;
      const args: Array<string | number> = new Array(2 + n + 9 + n * 7);
      args[0] = reservationKey(keyPrefix, req.orgId, req.id);
      args[1] = leaseSetKey(keyPrefix, req.orgId);
      let a = 2;
      for (const b of req.buckets) args[a++] = b.key;
      args[a++] = req.id;
      args[a++] = req.nowMs;
      args[a++] = req.deadlineMs;
      args[a++] = recordRetentionMs;
      args[a++] = req.promptTokens;
      args[a++] = req.promptCostNumerator;
      args[a++] = req.outputPerMTokMicros;
      args[a++] = req.maxOutputTokens;
      args[a++] = req.minOutputTokens;
      for (const b of req.buckets) {
        args[a++] = specOf(b);
        args[a++] = b.limit;
        args[a++] = b.ttlMs;
        args[a++] = b.warnAt;
        args[a++] = b.criticalAt;
        args[a++] = b.periodMs;
        args[a++] = b.label;
      }
      return guarded('reserve', async () => {
        const reply = await redis.tollgateReserve(2 + n, ...args);
        const status = reply[0] === 1 ? 'reserved' : reply[0] === 0 ? 'denied' : 'replayed';
        const remaining: number[] = [];
        const waitMs: number[] = [];
        for (let i = 2; i < reply.length; i += 2) {
          remaining.push(Number(reply[i]));
          waitMs.push(Number(reply[i + 1]));
        }
        return { status, outputTokens: Number(reply[1]), remaining, waitMs };
      });
    },

    renew(orgId, id, deadlineMs, nowMs) {
      return guarded('renew', async () => {
        const renewed = await redis.tollgateRenew(reservationKey(keyPrefix, orgId, id), leaseSetKey(keyPrefix, orgId), id, nowMs, deadlineMs, recordRetentionMs);
        return renewed === 1;
      });
    },

    settle(req: StoreSettleRequest): Promise<StoreSettleResult> {
      return guarded('settle', async () => {
        const reply = await redis.tollgateSettle(
          reservationKey(keyPrefix, req.orgId, req.id),
          leaseSetKey(keyPrefix, req.orgId),
          usageStreamKey(keyPrefix, req.orgId),
          req.id,
          req.nowMs,
          req.actualTokens,
          req.actualCostMicros,
          JSON.stringify(req.event),
          recordRetentionMs,
        );
        const status = ({ 1: 'settled', 3: 'late', 2: 'duplicate', 0: 'unknown' } as const)[reply[0] as 0 | 1 | 2 | 3];
        const crossings: StoreCrossing[] = [];
        for (let i = 1; i < reply.length; i += 5) {
          crossings.push({
            label: String(reply[i]),
            level: crossingLevels[Number(reply[i + 1]) - 1]!,
            used: Number(reply[i + 2]),
            limit: Number(reply[i + 3]),
            key: String(reply[i + 4]),
          });
        }
        return { status, crossings };
      });
    },

    reapExpired(orgId, nowMs, maxCount) {
      return guarded('reap', () =>
        redis.tollgateReap(leaseSetKey(keyPrefix, orgId), nowMs, maxCount, recordRetentionMs, reservationKey(keyPrefix, orgId, '')),
      );
    },

    appendUsage(event) {
      return guarded('append usage', async () => {
        await redis.xadd(usageStreamKey(keyPrefix, event.orgId), '*', 'e', JSON.stringify(event));
      });
    },
  };
}
