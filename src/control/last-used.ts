// api_keys.last_used_at without a write per request: the request path only adds a key id to a
// set; one UPDATE per interval stamps every key seen since the last flush.
import { sql } from 'drizzle-orm';
import { apiKeys } from '../../drizzle/schema/index.js';
import type { PrincipalCache } from '../auth/principal-cache.js';
import type { Db } from '../db/database.js';

export interface LastUsedTracker {
  touch(keyId: string): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createLastUsedTracker(db: Db, flushMs: number, onError: (err: unknown) => void): LastUsedTracker {
  let seen = new Set<string>();
  async function flush() {
    if (seen.size === 0) return;
    const ids = [...seen];
    seen = new Set();
    try {
      // One array parameter, not one per id: drizzle's inArray built and encoded 5,000 placeholders
      // in 40 ms of event loop, a stall every interval for the requests behind it (bench/keys).
      await db.update(apiKeys).set({ lastUsedAt: new Date() }).where(sql`${apiKeys.id} = any(${sql.param(ids)}::text[])`);
    } catch (err) {
      // Keep them for the next flush: a missed stamp is harmless, a lost one misleads idle-key reports.
      for (const id of ids) seen.add(id);
      onError(err);
    }
  }
  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();
  return {
    touch: (keyId) => void seen.add(keyId),
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

// The principal cache as the request path sees it, noting each usable key it hands out.
export function trackingLastUse(cache: PrincipalCache, tracker: LastUsedTracker): PrincipalCache {
  return {
    async get(hash) {
      const principal = await cache.get(hash);
      if (principal && !principal.revoked && principal.userActive) tracker.touch(principal.keyId);
      return principal;
    },
    apply: (message) => cache.apply(message),
    ready: cache.ready,
    get size() {
      return cache.size;
    },
    close: () => cache.close(),
  };
}
