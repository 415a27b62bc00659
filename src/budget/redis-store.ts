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

// Every reply element of reserve.lua and settle.lua is an integer.
type Reply = number[];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tollgateReserve(numKeys: number, ...keysAndArgs: Array<string | number>): Result<Reply, Context>;
    tollgateSettle(numKeys: number, ...keysAndArgs: Array<string | number>): Result<Reply, Context>;
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

const settleStatus = { 1: 'settled', 3: 'late', 2: 'duplicate', 0: 'unknown' } as const;

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
  redis.defineCommand('tollgateSettle', { lua: script('settle') });
  redis.defineCommand('tollgateRenew', { numberOfKeys: 2, lua: script('renew') });
  redis.defineCommand('tollgateReap', { numberOfKeys: 1, lua: script('reap') });

  return {
    kind: 'redis',

    reserve(req: StoreReserveRequest): Promise<StoreReserveResult> {
      const n = req.buckets.length;
      const args: Array<string | number> = new Array(2 + n + 9 + n);
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
      for (const b of req.buckets) args[a++] = `${specOf(b)} ${b.limit} ${b.ttlMs} ${b.periodMs}`;
      return guarded('reserve', async () => {
        const reply = await redis.tollgateReserve(2 + n, ...args);
        const status = reply[0] === 1 ? 'reserved' : reply[0] === 0 ? 'denied' : 'replayed';
        const remaining: number[] = new Array(n);
        const waitMs: number[] = new Array(n);
        const amounts: number[] = new Array(n);
        for (let i = 0; i < n; i++) {
          remaining[i] = reply[2 + i * 3] as number;
          waitMs[i] = reply[3 + i * 3] as number;
          amounts[i] = reply[4 + i * 3] as number;
        }
        return { status, outputTokens: reply[1] as number, remaining, waitMs, amounts };
      });
    },

    renew(orgId, id, deadlineMs, nowMs) {
      return guarded('renew', async () => {
        const renewed = await redis.tollgateRenew(reservationKey(keyPrefix, orgId, id), leaseSetKey(keyPrefix, orgId), id, nowMs, deadlineMs, recordRetentionMs);
        return renewed === 1;
      });
    },

    settle(req: StoreSettleRequest): Promise<StoreSettleResult> {
      // Request rates keep what they took (nothing to give back), so settle.lua never sees them.
      const debits = req.debits.filter((d) => d.bucket.kind === 'counter' || d.bucket.measure === 'tokens');
      const n = debits.length;
      const args: Array<string | number> = new Array(3 + n + 6 + n);
      args[0] = reservationKey(keyPrefix, req.orgId, req.id);
      args[1] = leaseSetKey(keyPrefix, req.orgId);
      args[2] = usageStreamKey(keyPrefix, req.orgId);
      let a = 3;
      for (const d of debits) args[a++] = d.bucket.key;
      args[a++] = req.id;
      args[a++] = req.nowMs;
      args[a++] = req.actualTokens;
      args[a++] = req.actualCostMicros;
      args[a++] = JSON.stringify(req.event);
      args[a++] = recordRetentionMs;
      for (const { bucket: b, amount, expireAtMs } of debits) {
        args[a++] = `${specOf(b)} ${amount} ${b.limit} ${b.warnAt} ${b.criticalAt} ${expireAtMs} ${b.periodMs}`;
      }
      return guarded('settle', async () => {
        const reply = await redis.tollgateSettle(3 + n, ...args);
        const status = settleStatus[reply[0] as 0 | 1 | 2 | 3];
        const crossings: StoreCrossing[] = [];
        for (let i = 1; i < reply.length; i += 3) {
          const index = req.debits.indexOf(debits[(reply[i] as number) - 1]!);
          crossings.push({ index, level: crossingLevels[(reply[i + 1] as number) - 1]!, used: reply[i + 2] as number });
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
