// The principal cache against a Postgres holding 100,000 keys seeded with SQL: it starts without
// reading them into memory, loads on first use (coalesced and batched), stays within
// auth.cacheMaxEntries, turns made-up keys away without queries, follows revocations on every
// replica, and answers 503 auth_unavailable (not 401) for a key it cannot check.
// Queries are counted where they leave: a pg.Pool whose query function counts every call.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import * as schema from '../../drizzle/schema/index.js';
import { createLocalInvalidationBus } from '../../src/auth/invalidation.js';
import { hashKey } from '../../src/auth/keys.js';
import { createPrincipalCache, type PrincipalCache, type PrincipalCacheOptions } from '../../src/auth/principal-cache.js';
import { type Db, openDatabase } from '../../src/db/database.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';

const servicesUp = (await redisAvailable()) && (await postgresAvailable());

const keyCount = 100_000;
const userCount = 10_000;
const seedKey = (i: number): string => `tg-seed-${i}`;
const randomHash = (): string => hashKey(`tg-${randomBytes(32).toString('base64url')}`);

// The same hash hashKey computes, made by Postgres for every seeded key.
const seedSql = [
  sql`insert into orgs (id, name) values ('org_seed', 'seed')`,
  sql`insert into teams (id, org_id, parent_id, name) values ('team_root', 'org_seed', null, 'root'), ('team_child', 'org_seed', 'team_root', 'child')`,
  sql`insert into users (id, org_id, team_id, name) select 'user_seed_' || u, 'org_seed', 'team_child', 'seed-' || u from generate_series(1, ${userCount}) u`,
  sql`insert into api_keys (id, org_id, user_id, hash, prefix)
      select 'key_seed_' || i, 'org_seed', 'user_seed_' || (i % ${userCount} + 1), encode(sha256(convert_to('tg-seed-' || i, 'UTF8')), 'hex'), 'tg-seed'
      from generate_series(1, ${keyCount}) i`,
];

interface CountingDb {
  db: Db;
  readonly queries: number;
  close(): Promise<void>;
}

function countingDb(url: string): CountingDb {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
  let queries = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
    queries++;
    return query(...args);
  };
  return {
    db: drizzle(pool, { schema }) as unknown as Db,
    get queries() {
      return queries;
    },
    close: () => pool.end(),
  };
}

describe.skipIf(!servicesUp)('principal cache with 100,000 keys in Postgres', () => {
  let database: { url: string; drop(): Promise<void> };
  const caches: Array<{ cache: PrincipalCache; counting: CountingDb }> = [];

  // Each cache gets a pool of its own, so a count holds its own queries only (feed reads included).
  const startCache = async (overrides: Partial<PrincipalCacheOptions> = {}): Promise<{ cache: PrincipalCache; counting: CountingDb }> => {
    const counting = countingDb(database.url);
    const cache = await createPrincipalCache({
      db: counting.db,
      bus: createLocalInvalidationBus(),
      maxEntries: 100_000,
      negativeMaxEntries: 10_000,
      negativeTtlMs: 30_000,
      changePollMs: 200,
      lookupTimeoutMs: 2_000,
      onError: () => {},
      ...overrides,
    });
    caches.push({ cache, counting });
    return { cache, counting };
  };

  beforeAll(async () => {
    database = await createTestDatabase('principal_cache');
    const migrated = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    await migrated.migrate();
    for (const statement of seedSql) await migrated.db.execute(statement);
    await migrated.close();
  }, 120_000);

  afterAll(async () => {
    for (const { cache, counting } of caches) {
      cache.close();
      await counting.close();
    }
    await database?.drop();
  });

  it('starts without loading the keys and authenticates a known key on first use, with its team chain', async () => {
    const { cache } = await startCache();
    expect(cache.size).toBe(0);
    const principal = await cache.get(hashKey(seedKey(12_345)));
    expect(principal).toMatchObject({ keyId: 'key_seed_12345', orgId: 'org_seed', userId: `user_seed_${(12_345 % userCount) + 1}`, teamIds: ['team_child', 'team_root'], revoked: false, userActive: true });
    expect(cache.size).toBe(1);
    expect(await cache.get(randomHash())).toBeUndefined();
  });

  it('sends one query for concurrent misses of one key, and one batch for misses of many keys at once', async () => {
    const { cache, counting } = await startCache();
    await cache.ready;
    const before = counting.queries;
    const same = await Promise.all(Array.from({ length: 50 }, () => cache.get(hashKey(seedKey(777)))));
    expect(new Set(same.map((p) => p?.keyId))).toEqual(new Set(['key_seed_777']));
    expect(counting.queries - before).toBeLessThanOrEqual(2);

    const between = counting.queries;
    const many = await Promise.all(Array.from({ length: 400 }, (_, i) => cache.get(hashKey(seedKey(50_000 + i)))));
    expect(many.every((p, i) => p?.keyId === `key_seed_${50_000 + i}`)).toBe(true);
    // One batch, plus at most one change-feed read that fell in the same moment.
    expect(counting.queries - between).toBeLessThanOrEqual(2);
  });

  it('sends fewer than 100 queries for 10,000 requests with random invalid keys', async () => {
    const { cache, counting } = await startCache();
    await cache.ready;
    const before = counting.queries;
    // Ten at a time, as concurrent clients would: each made-up hash is new, so no cache can help.
    for (let i = 0; i < 1_000; i++) {
      const found = await Promise.all(Array.from({ length: 10 }, () => cache.get(randomHash())));
      expect(found.every((p) => p === undefined)).toBe(true);
    }
    expect(counting.queries - before).toBeLessThan(100);
  });

  it('keeps at most auth.cacheMaxEntries principals however many keys are used', async () => {
    const { cache, counting } = await startCache({ maxEntries: 1_000 });
    for (let start = 1; start <= 5_000; start += 250) {
      const batch = await Promise.all(Array.from({ length: 250 }, (_, i) => cache.get(hashKey(seedKey(start + i)))));
      expect(batch.every((p) => p !== undefined)).toBe(true);
      expect(cache.size).toBeLessThanOrEqual(1_000);
    }
    expect(cache.size).toBe(1_000);
    // The most recent ones stayed; the first were dropped and come back on use.
    const before = counting.queries;
    await cache.get(hashKey(seedKey(5_000)));
    expect(counting.queries).toBe(before);
    expect((await cache.get(hashKey(seedKey(1))))?.keyId).toBe('key_seed_1');
  });

  it('follows changes written straight to the database (no message) through the change feed: a new key, a revocation, a deactivated user, a moved team', async () => {
    const { cache, counting } = await startCache();
    await cache.ready;
    const key = `tg-${randomBytes(32).toString('base64url')}`;
    expect(await cache.get(hashKey(key))).toBeUndefined();
    await counting.db.execute(sql`insert into api_keys (id, org_id, user_id, hash, prefix) values ('key_direct', 'org_seed', 'user_seed_1', ${hashKey(key)}, 'tg-direct')`);
    await expect.poll(async () => (await cache.get(hashKey(key)))?.keyId, { timeout: 10_000, interval: 100 }).toBe('key_direct');

    await counting.db.execute(sql`update api_keys set revoked_at = now() where id = 'key_direct'`);
    await expect.poll(async () => (await cache.get(hashKey(key)))?.revoked, { timeout: 10_000, interval: 100 }).toBe(true);

    await counting.db.execute(sql`update users set active = false where id = 'user_seed_1'`);
    await expect.poll(async () => (await cache.get(hashKey(key)))?.userActive, { timeout: 10_000, interval: 100 }).toBe(false);

    const other = hashKey(seedKey(2));
    expect((await cache.get(other))?.teamIds).toEqual(['team_child', 'team_root']);
    await counting.db.execute(sql`update teams set parent_id = null where id = 'team_child'`);
    await expect.poll(async () => (await cache.get(other))?.teamIds, { timeout: 10_000, interval: 100 }).toEqual(['team_child']);
    await counting.db.execute(sql`update teams set parent_id = 'team_root' where id = 'team_child'`);
  });

  describe('two gateways on Redis and this Postgres', () => {
    let mock: MockUpstream;
    const gateways: TestGateway[] = [];
    const env = () => ({ DATABASE_URL: database.url, REDIS_URL: redisUrl });

    beforeAll(async () => {
      mock = await startMockUpstream();
      const overrides = { redisKeyPrefix: uniquePrefix('principal-cache') };
      for (let i = 0; i < 2; i++) gateways.push(await startTestGateway({ mock, env: env(), overrides }));
      for (const gw of gateways) await gw.app.principals.ready;
    }, 60_000);

    afterAll(async () => {
      for (const gw of gateways) await gw.close();
      await mock?.close();
    });

    const status = async (gw: TestGateway, key: string): Promise<{ status: number; code: unknown }> => {
      const res = await request(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      const body = (await res.body.json()) as { error?: { code?: unknown } };
      return { status: res.statusCode, code: body.error?.code };
    };

    it('stops a revoked key on both gateways within a second', async () => {
      const [a, b] = gateways as [TestGateway, TestGateway];
      const key = seedKey(4_242);
      for (const gw of gateways) expect(await status(gw, key)).toEqual({ status: 200, code: undefined });
      await b.admin.call('POST', '/keys/key_seed_4242/revoke');
      const revokedAt = performance.now();
      for (const gw of [a, b]) await expect.poll(() => status(gw, key), { timeout: 1_000, interval: 20 }).toEqual({ status: 401, code: 'revoked_api_key' });
      expect(performance.now() - revokedAt).toBeLessThan(1_000);
    });

    it('answers 503 auth_unavailable for an uncached key while Postgres refuses connections, and keeps serving cached keys', async () => {
      const [gw] = gateways as [TestGateway];
      const cached = seedKey(31_337);
      const uncached = seedKey(31_338);
      expect((await status(gw, cached)).status).toBe(200);
      const admin = new pg.Client({ connectionString: database.url.replace(/\/[^/]+$/, '/postgres') });
      await admin.connect();
      const name = new URL(database.url).pathname.slice(1);
      try {
        await admin.query(`alter database ${name} with allow_connections false`);
        await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
        expect(await status(gw, uncached)).toEqual({ status: 503, code: 'auth_unavailable' });
        expect(await status(gw, cached)).toEqual({ status: 200, code: undefined });
      } finally {
        await admin.query(`alter database ${name} with allow_connections true`);
        await admin.end();
      }
      await expect.poll(async () => (await status(gw, uncached)).status, { timeout: 5_000, interval: 100 }).toBe(200);
    });
  });
});
