// The principals the hot path reads: key hash -> Principal, for the keys in use only. A bounded
// LRU (auth.cacheMaxEntries) filled on first use; misses are coalesced per hash and batched into
// `hash = any($1)` queries; hashes that are no key are turned away by a Bloom filter of every valid
// hash (built by paging through api_keys at start, then kept current) or by a short-lived
// negative cache, so made-up keys do not reach Postgres. Changes arrive as pub/sub messages
// (applied at once, each an O(1) eviction plus one query) and from the key_changes feed, which
// catches whatever a replica's subscriber missed.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Db } from '../db/database.js';
import { createBatchLoader } from './batch-loader.js';
import { type BloomFilter, createBloomFilter } from './bloom-filter.js';
import type { Invalidation, InvalidationBus } from './invalidation.js';
import { type KeyChange, type KeyChangeFeed, startKeyChangeFeed } from './key-change-feed.js';
import { createLruMap } from './lru-map.js';
import { countKeys, forEachKeyHashPrefix, loadPrincipals, loadPrincipalsByHash } from './principal-loader.js';
import type { Principal } from './principal.js';

export interface PrincipalCache {
  // Undefined when the hash is no key. Rejects when Postgres could not be asked (a miss while it
  // is down or overloaded); hits never touch it.
  get(hash: string): Promise<Principal | undefined>;
  // Resolves once the change is visible in this process (tests and the CLI use it).
  apply(message: Invalidation): Promise<void>;
  // Resolves once the filter of valid hashes is built; until then every miss asks Postgres.
  readonly ready: Promise<void>;
  readonly size: number;
  close(): void;
}

export interface PrincipalCacheOptions {
  db: Db;
  bus: InvalidationBus;
  maxEntries: number;
  negativeMaxEntries: number;
  negativeTtlMs: number;
  changePollMs: number;
  lookupTimeoutMs: number;
  onError: (err: unknown) => void;
}

// One false "maybe" in a thousand: 14.4 bits a key, 1.8 MB per million of capacity.
const filterFalsePositiveRate = 0.001;
const filterMinCapacity = 1_000_000;
// Small pages keep each synchronous slice (parsing rows, setting bits) to a few milliseconds.
const filterPageSize = 5_000;
const missBatchMax = 500;
const changeRetentionMs = 3_600_000;

export async function createPrincipalCache(options: PrincipalCacheOptions): Promise<PrincipalCache> {
  const { db, bus, onError } = options;
  const byKeyId = new Map<string, string>();
  const byUserId = new Map<string, Set<string>>();

  const unindex = (hash: string, principal: Principal): void => {
    byKeyId.delete(principal.keyId);
    const hashes = byUserId.get(principal.userId);
    hashes?.delete(hash);
    if (hashes?.size === 0) byUserId.delete(principal.userId);
  };
  const entries = createLruMap<string, Principal>(options.maxEntries, unindex);
  // hash -> when the "no such key" answer stops being trusted.
  const unknown = createLruMap<string, number>(options.negativeMaxEntries);

  function store(hash: string, principal: Principal | undefined): void {
    if (!principal) {
      unknown.set(hash, Date.now() + options.negativeTtlMs);
      return;
    }
    const previous = entries.get(hash);
    if (previous) unindex(hash, previous);
    entries.set(hash, principal);
    byKeyId.set(principal.keyId, hash);
    let hashes = byUserId.get(principal.userId);
    if (!hashes) byUserId.set(principal.userId, (hashes = new Set()));
    hashes.add(hash);
  }

  const loader = createBatchLoader<string, Principal>({
    loadMany: (hashes) => loadPrincipalsByHash(db, hashes),
    store,
    maxBatch: missBatchMax,
    // Enough for a burst of first uses; past it a miss answers auth_unavailable rather than queue.
    maxPending: missBatchMax * 20,
    timeoutMs: options.lookupTimeoutMs,
  });

  // Evicted now, so no request sees the old principal; the next use (or the refresh below) loads it.
  function evict(hash: string): boolean {
    loader.forget(hash);
    const principal = entries.get(hash);
    if (!principal) return false;
    entries.delete(hash);
    unindex(hash, principal);
    return true;
  }

  function evictAll(): void {
    loader.forgetAll();
    entries.clear();
    byKeyId.clear();
    byUserId.clear();
    unknown.clear();
  }

  // The valid-hash filter; `growing` also receives new hashes while it is being built.
  let filter: BloomFilter | undefined;
  let growing: BloomFilter | undefined;
  const learn = (hash: string): void => {
    filter?.add(hash);
    growing?.add(hash);
    unknown.delete(hash);
    if (filter && !growing && filter.added > filter.capacity) buildFilter(filter.capacity * 2).catch(onError);
  };

  async function buildFilter(capacity: number): Promise<void> {
    const next = createBloomFilter(capacity, filterFalsePositiveRate);
    growing = next;
    try {
      await forEachKeyHashPrefix(db, filterPageSize, async (prefixes) => {
        for (const prefix of prefixes) next.add(prefix);
        // A page's answer and this loop run in one turn of the event loop; requests that arrived
        // meanwhile get theirs before the next page is asked for.
        await yieldToLoop();
      });
      filter = next;
    } finally {
      if (growing === next) growing = undefined;
    }
  }

  function applyChanges(changes: readonly KeyChange[]): void {
    const refresh: string[] = [];
    for (const change of changes) {
      if (change.keyHash !== null) {
        learn(change.keyHash);
        if (evict(change.keyHash)) refresh.push(change.keyHash);
      } else if (change.userId !== null) {
        for (const hash of byUserId.get(change.userId) ?? []) if (evict(hash)) refresh.push(hash);
      } else {
        evictAll();
      }
    }
    // Keys in use come back before their next request needs them; a failure here is retried by that request.
    for (const hash of refresh) loader.load(hash).catch(() => {});
  }

  // The key or user's cached principals leave at once, before any query, so a revocation never
  // waits behind the loads of earlier messages; returns the hashes that were in use.
  function evictNow(message: Invalidation): string[] {
    if (message.kind !== 'key' && message.kind !== 'user') return [];
    const cached = message.kind === 'key' ? [byKeyId.get(message.id)].filter((h) => h !== undefined) : [...(byUserId.get(message.id) ?? [])];
    for (const hash of cached) evict(hash);
    // A first use of one of these keys may be loading right now, read before the change: its
    // hash is not known from the id, so no answer of the running batch is kept.
    if (message.kind === 'user' || cached.length === 0) loader.forgetAll();
    return cached;
  }

  async function reload(message: Invalidation, cached: readonly string[]): Promise<void> {
    // Budget rule changes are for the budget engine; principals do not carry budgets.
    if (message.kind === 'budgets') return;
    // "Anything may have changed" (a team moved, or the subscriber was away): the feed holds what
    // changed, a team move included, so catching up on it beats dropping every principal.
    if (message.kind === 'all') return feed.poll();
    // A new key's hash is learned here (the message names only its id), so it works at once; of a
    // user's keys only those in use come back into the cache.
    for (const { hash, principal } of await loadPrincipals(db, message)) {
      learn(hash);
      if (message.kind === 'key' || cached.includes(hash)) store(hash, principal);
    }
  }

  // Reloads run in message order, so an older answer never overwrites a newer change.
  let queue: Promise<void> = Promise.resolve();
  const apply = (message: Invalidation): Promise<void> => {
    const cached = evictNow(message);
    queue = queue.then(() => reload(message, cached)).catch(onError);
    return queue;
  };

  // The feed starts before the filter is built, so a key created in between is in one or the other.
  const feed: KeyChangeFeed = await startKeyChangeFeed({ db, pollMs: options.changePollMs, retentionMs: changeRetentionMs, onChanges: applyChanges, onError });
  await bus.subscribe((message) => void apply(message));
  let closed = false;
  const ready = (async () => {
    while (!closed) {
      try {
        await buildFilter(Math.max(filterMinCapacity, 2 * (await countKeys(db))));
        return;
      } catch (err) {
        onError(err);
        await new Promise((resolve) => setTimeout(resolve, options.changePollMs).unref());
      }
    }
  })();

  return {
    async get(hash) {
      const hit = entries.get(hash);
      if (hit) return hit;
      const unknownUntilMs = unknown.get(hash);
      if (unknownUntilMs !== undefined) {
        if (unknownUntilMs > Date.now()) return undefined;
        unknown.delete(hash);
      }
      if (filter && !filter.mightContain(hash)) return undefined;
      return loader.load(hash);
    },
    apply,
    ready,
    get size() {
      return entries.size;
    },
    close() {
      closed = true;
      feed.close();
    },
  };
}
