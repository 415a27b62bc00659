// Which replica evaluates the alert rules: the holder of one lock. With Redis, a key taken with
// SET NX PX and renewed at every evaluation; each new holder gets a larger fencing token, and a
// holder trusts its lock only until the lifetime it last renewed runs out by its own clock, so a
// paused or cut-off holder stops before another can take over. Embedded, the process is the only
// replica and always holds it. Postgres without Redis: a session advisory lock on a connection of
// its own.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import pg from 'pg';
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

// Room for the clocks of Redis and this process to drift apart within one lifetime.
const driftShare = 0.1;

export function createRedisLeaderLock(redis: RedisClient, keyPrefix: string, ttlMs: number, owner = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`): LeaderLock {
  // EVAL, not defineCommand: the client is the gateway's shared auto-pipelining one, and a command
  // defined after the tick's pipeline was opened is missing from it, which misaligns every reply of
  // that pipeline and crashes the process (ioredis #1931). Two small scripts every few seconds do
  // not need EVALSHA.
  // One hash tag: both keys on one Cluster slot.
  const lockKey = `${keyPrefix}{alerts}:leader`;
  const fenceKey = `${keyPrefix}{alerts}:leader:fence`;
  let heldUntilMs = 0;
  return {
    owner,
    async hold() {
      const askedMs = performance.now();
      try {
        const token = Number(await redis.eval(holdScript, 2, lockKey, fenceKey, owner, ttlMs));
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
      await redis.eval(releaseScript, 1, lockKey, owner);
    },
  };
}

// The advisory lock's key: hashtext('tollgate:alerts:evaluator'), computed once by Postgres.
const advisoryKey = "hashtext('tollgate:alerts:evaluator')";

// Held as long as its session lives: the server frees it when the holder's connection ends, at
// once when the process dies, within about ttlMs when the network is cut (the session's TCP
// keepalives are set from ttlMs). The fencing token is the transaction id current when the lock
// was taken, which only grows.
export function createPostgresLeaderLock(databaseUrl: string, ttlMs: number, owner = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`): LeaderLock {
  let client: pg.Client | undefined;
  let token: number | undefined;
  // Held at the last answer Postgres gave; kept while it gives none.
  let wasLeader = false;
  const keepaliveS = Math.max(1, Math.floor(ttlMs / 3_000));

  function drop(): void {
    client?.end().catch(() => {});
    client = undefined;
    token = undefined;
  }

  async function connect(): Promise<pg.Client> {
    const fresh = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: Math.min(ttlMs, 5_000), query_timeout: Math.min(ttlMs, 5_000), application_name: `tollgate-evaluator-${owner}` });
    fresh.on('error', drop);
    await fresh.connect();
    await fresh.query(`set tcp_keepalives_idle = ${keepaliveS}; set tcp_keepalives_interval = ${keepaliveS}; set tcp_keepalives_count = 2`);
    return fresh;
  }

  return {
    owner,
    async hold() {
      const askedMs = performance.now();
      try {
        client ??= await connect();
        if (token === undefined) {
          const { rows } = await client.query<{ ok: boolean; xid: string }>(`select pg_try_advisory_lock(${advisoryKey}) as ok, pg_current_xact_id()::text as xid`);
          wasLeader = rows[0]!.ok;
          if (!wasLeader) return { kind: 'follower' };
          token = Number(rows[0]!.xid);
        } else {
          await client.query('select 1');
        }
        return { kind: 'leader', token, untilMs: askedMs + ttlMs * (1 - driftShare) };
      } catch (err) {
        drop();
        return { kind: 'unknown', heldBefore: wasLeader, error: (err as Error).message };
      }
    },
    async release() {
      if (client && token !== undefined) await client.query(`select pg_advisory_unlock(${advisoryKey})`).catch(() => {});
      wasLeader = false;
      drop();
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
