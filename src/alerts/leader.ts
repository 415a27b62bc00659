// Which replica evaluates the alert rules: the holder of one lock. With Redis, a key taken with
// SET NX PX and renewed at every evaluation; each new holder gets a larger fencing token, and a
// holder trusts its lock only until the lifetime it last renewed runs out by its own clock, so a
// paused or cut-off holder stops before another can take over. Embedded, the process is the only
// replica and always holds it.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { RedisClient } from '../redis/connect.js';

export type LeaderState =
  // Holds the lock until untilMs (performance.now() time); token is its fencing token.
  | { readonly kind: 'leader'; readonly token: number; readonly untilMs: number }
  | { readonly kind: 'follower' }
  // The lock store did not answer. heldBefore: this replica held the lock at its last renewal.
  | { readonly kind: 'unknown'; readonly heldBefore: boolean; readonly error: string };

export interface LeaderLock {
  readonly owner: string;
  hold(): Promise<LeaderState>;
  release(): Promise<void>;
}

const holdScript = readFileSync(new URL('./leader-hold.lua', import.meta.url), 'utf8');
const releaseScript = readFileSync(new URL('./leader-release.lua', import.meta.url), 'utf8');

interface WithLeaderScripts {
  tollgateAlertLeaderHold(lockKey: string, fenceKey: string, owner: string, ttlMs: number): Promise<number>;
  tollgateAlertLeaderRelease(lockKey: string, owner: string): Promise<number>;
}

// Room for the clocks of Redis and this process to drift apart within one lifetime.
const driftShare = 0.1;

export function createRedisLeaderLock(redis: RedisClient, keyPrefix: string, ttlMs: number, owner = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`): LeaderLock {
  redis.defineCommand('tollgateAlertLeaderHold', { numberOfKeys: 2, lua: holdScript });
  redis.defineCommand('tollgateAlertLeaderRelease', { numberOfKeys: 1, lua: releaseScript });
  const scripted = redis as RedisClient & WithLeaderScripts;
  // One hash tag: both keys on one Cluster slot.
  const lockKey = `${keyPrefix}{alerts}:leader`;
  const fenceKey = `${keyPrefix}{alerts}:leader:fence`;
  let heldUntilMs = 0;
  return {
    owner,
    async hold() {
      const askedMs = performance.now();
      try {
        const token = Number(await scripted.tollgateAlertLeaderHold(lockKey, fenceKey, owner, ttlMs));
        if (token < 0) {
          heldUntilMs = 0;
          return { kind: 'follower' };
        }
        // Counted from before the call: the key may have been set at any moment of the round trip.
        heldUntilMs = askedMs + ttlMs * (1 - driftShare);
        return { kind: 'leader', token, untilMs: heldUntilMs };
      } catch (err) {
        return { kind: 'unknown', heldBefore: heldUntilMs > 0, error: (err as Error).message };
      }
    },
    async release() {
      heldUntilMs = 0;
      await scripted.tollgateAlertLeaderRelease(lockKey, owner);
    },
  };
}

export function createProcessLeaderLock(): LeaderLock {
  return {
    owner: `process-${process.pid}`,
    hold: async () => ({ kind: 'leader', token: 1, untilMs: Number.POSITIVE_INFINITY }),
    release: async () => {},
  };
}
