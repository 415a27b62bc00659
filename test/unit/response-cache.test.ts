// The response cache's pure parts and its in-process store: canonical request form, who is opted
// in, keys that never span orgs, the store's entry, byte and time bounds, and the ledger tag a
// caller cannot forge.
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { canonicalJson, createResponseCache, type ResponseCacheConfig } from '../../src/cache/response-cache.js';
import { callerContext } from '../../src/metering/usage-event.js';

const principal = (over: Partial<Principal> = {}): Principal => ({
  keyId: 'key_1', orgId: 'org_1', userId: 'user_1', teamIds: ['team_child', 'team_parent'], allowedModels: null, scopes: null, expiresAtMs: null, revoked: false, userActive: true, ...over,
});
const config = (over: Partial<ResponseCacheConfig> = {}): ResponseCacheConfig => ({ ttlMs: 1_000, maxEntryBytes: 1_000, maxEntries: 3, maxMemoryBytes: 10_000, scopes: [{ scope: 'org', id: '*' }], ...over });
const cacheWith = (over: Partial<ResponseCacheConfig> = {}, clock = () => 0) => createResponseCache({ config: config(over), redis: undefined, keyPrefix: 'tg:', record: () => {}, onError: () => {}, clock })!;
const answer = (text: string) => ({ status: 200, contentType: 'application/json', body: Buffer.from(text) });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the cache key', () => {
  it('is the same for bodies that differ only in key order, at every level', () => {
    expect(canonicalJson({ b: 1, a: [{ y: 2, x: 1 }] })).toBe(canonicalJson({ a: [{ x: 1, y: 2 }], b: 1 }));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });

  it("carries the org, so two orgs' identical requests never share an entry", () => {
    const cache = cacheWith();
    const mine = cache.keyFor(principal(), 'chat', 'gpt-4o-mini', { a: 1 })!;
    const theirs = cache.keyFor(principal({ orgId: 'org_2' }), 'chat', 'gpt-4o-mini', { a: 1 })!;
    expect(mine).toMatch(/^tg:\{org:org_1\}:rc:[0-9a-f]{64}$/);
    expect(theirs).not.toBe(mine);
    expect(cache.keyFor(principal(), 'chat', 'gpt-4o', { a: 1 })).not.toBe(mine);
  });

  it('exists only for opted-in orgs, teams (a parent team opts in its children) and keys', () => {
    expect(createResponseCache({ config: config({ scopes: [] }), redis: undefined, keyPrefix: 'tg:', record: () => {}, onError: () => {} })).toBeUndefined();
    const cache = cacheWith({ scopes: [{ scope: 'team', id: 'team_parent' }, { scope: 'key', id: 'key_9' }] });
    expect(cache.keyFor(principal(), 'chat', 'm', {})).toBeDefined();
    expect(cache.keyFor(principal({ teamIds: [] }), 'chat', 'm', {})).toBeUndefined();
    expect(cache.keyFor(principal({ teamIds: [], keyId: 'key_9' }), 'chat', 'm', {})).toBeDefined();
  });
});

describe('the in-process store', () => {
  it('drops the least recently used past maxEntries', async () => {
    const cache = cacheWith();
    for (const k of ['a', 'b', 'c']) cache.put(k, answer(k));
    await settle();
    expect(await cache.get('a')).toBeDefined(); // a is now the most recent
    cache.put('d', answer('d'));
    await settle();
    expect(await cache.get('b')).toBeUndefined();
    expect((await cache.get('a'))!.body.toString()).toBe('a');
    expect(await cache.get('d')).toBeDefined();
  });

  it('keeps at most maxMemoryBytes', async () => {
    const cache = cacheWith({ maxEntries: 100, maxMemoryBytes: 250 });
    for (const k of ['a', 'b', 'c']) cache.put(k, answer(k.repeat(100)));
    await settle();
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('c')).toBeDefined();
  });

  it('forgets an answer after ttlMs', async () => {
    let now = 0;
    const cache = cacheWith({}, () => now);
    cache.put('a', answer('a'));
    await settle();
    now = 999;
    expect(await cache.get('a')).toBeDefined();
    now = 2_000;
    expect(await cache.get('a')).toBeUndefined();
  });
});

describe('the ledger mark', () => {
  it('cannot be forged by a caller tag', () => {
    expect(callerContext({ 'x-tollgate-tags': 'tollgate_cache=hit,feature=search' }).tags).toEqual({ feature: 'search' });
  });
});
