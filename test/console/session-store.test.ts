// Console session stores: both expire a session at its deadline and forget it on sign-out; the
// in-process one is bounded (oldest dropped first); the Redis one lets every replica see a
// sign-in and a sign-out, and keeps only a hash of the cookie value in its key names. The cookie
// itself: which one names a session.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookie, sessionIdFrom } from '../../src/console/cookies.js';
import { type ConsoleSession, createMemorySessionStore, createRedisSessionStore, type SessionStore } from '../../src/console/session-store.js';
import { redisUrl, uniquePrefix } from '../helpers/services.js';

const session = (expiresAtMs: number): ConsoleSession => ({ credential: { kind: 'admin_key', keyHash: 'h'.repeat(64) }, csrfToken: 'token', expiresAtMs });

let redis: Redis;
const prefix = uniquePrefix('console-sessions');

beforeAll(() => {
  redis = new Redis(redisUrl);
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe.each([
  ['in process', () => createMemorySessionStore(100)],
  ['Redis', () => createRedisSessionStore(redis, prefix)],
])('%s session store', (_name, make: () => SessionStore) => {
  it('returns a live session, none once its deadline passes, and none after sign-out', async () => {
    const store = make();
    const nowMs = Date.now();
    await store.put('cookie-a', session(nowMs + 60_000));
    expect(await store.get('cookie-a', nowMs)).toMatchObject({ csrfToken: 'token' });
    expect(await store.get('cookie-a', nowMs + 60_000)).toBeUndefined();
    await store.put('cookie-b', session(nowMs + 60_000));
    await store.delete('cookie-b');
    expect(await store.get('cookie-b', nowMs)).toBeUndefined();
    expect(await store.get('never-issued', nowMs)).toBeUndefined();
  });
});

it('the in-process store drops the oldest session past its bound', async () => {
  const store = createMemorySessionStore(3);
  const nowMs = Date.now();
  for (const id of ['s1', 's2', 's3', 's4']) await store.put(id, session(nowMs + 60_000));
  expect(await store.get('s1', nowMs)).toBeUndefined();
  for (const id of ['s2', 's3', 's4']) expect(await store.get(id, nowMs)).toBeDefined();
});

it('Redis holds the session under a hash of the cookie, expiring with it', async () => {
  const store = createRedisSessionStore(redis, `${prefix}hashed:`);
  await store.put('plain-cookie-value', session(Date.now() + 5_000));
  const keys = await redis.keys(`${prefix}hashed:*`);
  expect(keys).toHaveLength(1);
  expect(keys.some((k) => k.includes('plain-cookie-value'))).toBe(false);
  const ttls = await Promise.all(keys.map((k) => redis.pttl(k)));
  expect(ttls.every((ttl) => ttl > 0 && ttl <= 5_000)).toBe(true);
});

describe('the session cookie', () => {
  it('prefers the __Host- cookie, and with hostOnly ignores a plain one someone tossed in', () => {
    expect(sessionIdFrom({ cookie: 'tollgate_console=plain; __Host-tollgate_console=secure' })).toBe('secure');
    expect(sessionIdFrom({ cookie: 'a=1; tollgate_console=plain' })).toBe('plain');
    expect(sessionIdFrom({ cookie: 'a=1; tollgate_console=plain' }, true)).toBeUndefined();
    expect(sessionCookie('id', 60, true)).toBe('__Host-tollgate_console=id; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure');
  });
});
