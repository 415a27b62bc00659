// The pure parts of the principal cache: the Bloom filter of valid key hashes, the LRU map and the
// batch loader that coalesces and batches misses.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createBatchLoader, LoaderOverloadedError, LoaderTimeoutError } from '../../src/auth/batch-loader.js';
import { createBloomFilter } from '../../src/auth/bloom-filter.js';
import { hashKey } from '../../src/auth/keys.js';
import { createLruMap } from '../../src/auth/lru-map.js';

const randomHash = (): string => hashKey(randomBytes(16).toString('hex'));

describe('Bloom filter of key hashes', () => {
  it('never refuses a member and lets through about 0.1% of non-members when full', () => {
    const filter = createBloomFilter(100_000, 0.001);
    const members = Array.from({ length: 100_000 }, randomHash);
    for (const hash of members) filter.add(hash);
    expect(members.every((hash) => filter.mightContain(hash))).toBe(true);
    const falsePositives = Array.from({ length: 100_000 }, randomHash).filter((hash) => filter.mightContain(hash)).length;
    // Expected 100 of 100,000; 300 would mean the probes are not independent.
    expect(falsePositives).toBeLessThan(300);
    expect(filter.bytes).toBeLessThan(200_000);
  });

  it('reads only the first 16 hex digits, so a prefix finds its full hash', () => {
    const filter = createBloomFilter(1_000, 0.001);
    const hash = randomHash();
    filter.add(hash.slice(0, 16));
    expect(filter.mightContain(hash)).toBe(true);
    expect(() => filter.add('not hex at all!!')).toThrow(/hex digest/);
  });
});

describe('LRU map', () => {
  it('drops the least recently used entry when full and tells who was dropped', () => {
    const dropped: string[] = [];
    const lru = createLruMap<string, number>(2, (key) => dropped.push(key));
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(dropped).toEqual(['b']);
    expect([lru.has('a'), lru.has('b'), lru.has('c'), lru.size]).toEqual([true, false, true, 2]);
  });
});

describe('batch loader', () => {
  const deferred = () => {
    let resolve!: (value: ReadonlyMap<string, number>) => void;
    const promise = new Promise<ReadonlyMap<string, number>>((r) => (resolve = r));
    return { promise, resolve };
  };

  it('sends one query for concurrent loads of one key and batches keys asked for while a query runs', async () => {
    const calls: string[][] = [];
    const pending: Array<ReturnType<typeof deferred>> = [];
    const loader = createBatchLoader<string, number>({
      loadMany: (keys) => {
        calls.push(keys);
        const d = deferred();
        pending.push(d);
        return d.promise;
      },
      store: () => {},
      maxBatch: 2,
      maxPending: 100,
      timeoutMs: 10_000,
    });
    const first = [loader.load('a'), loader.load('a')];
    await new Promise((r) => setImmediate(r));
    // 'a' is being queried: a later load of it shares that query.
    const later = [loader.load('b'), loader.load('c'), loader.load('d'), loader.load('a')];
    expect(calls).toEqual([['a']]);
    pending[0]!.resolve(new Map([['a', 1]]));
    expect(await Promise.all(first)).toEqual([1, 1]);
    await new Promise((r) => setImmediate(r));
    // b, c, d waited together; at most two go in one query.
    expect(calls.slice(1)).toEqual([['b', 'c']]);
    pending[1]!.resolve(new Map([['b', 2]]));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(calls.slice(2)).toEqual([['d']]);
    pending[2]!.resolve(new Map([['d', 4]]));
    expect(await Promise.all(later)).toEqual([2, undefined, 4, 1]);
  });

  it('hands a forgotten key its answer but does not store it, so a change during the query is not overwritten', async () => {
    const stored: Array<[string, number | undefined]> = [];
    const d = deferred();
    const loader = createBatchLoader<string, number>({ loadMany: () => d.promise, store: (k, v) => stored.push([k, v]), maxBatch: 10, maxPending: 10, timeoutMs: 10_000 });
    const a = loader.load('a');
    const b = loader.load('b');
    await new Promise((r) => setImmediate(r));
    loader.forget('a');
    d.resolve(new Map([['a', 1]]));
    expect([await a, await b]).toEqual([1, undefined]);
    expect(stored).toEqual([['b', undefined]]);
  });

  it('refuses loads past maxPending and fails a query that hangs past timeoutMs without blocking the next', async () => {
    let calls = 0;
    const loader = createBatchLoader<string, number>({
      loadMany: () => (++calls === 1 ? new Promise<never>(() => {}) : Promise.resolve(new Map([['c', 3]]))),
      store: () => {},
      maxBatch: 10,
      maxPending: 2,
      timeoutMs: 50,
    });
    const hung = [loader.load('a'), loader.load('b')];
    await expect(loader.load('c')).rejects.toBeInstanceOf(LoaderOverloadedError);
    for (const p of hung) await expect(p).rejects.toBeInstanceOf(LoaderTimeoutError);
    expect(await loader.load('c')).toBe(3);
  });
});
