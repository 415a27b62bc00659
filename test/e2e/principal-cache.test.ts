// The principal cache against a Postgres holding 100,000 keys seeded with SQL: it starts without
// reading them into memory, loads on first use (coalesced and batched), stays within
// auth.cacheMaxEntries, turns made-up keys away without queries, follows revocations on every
// replica, and answers 503 auth_unavailable (not 401) for a key it cannot check.
// Queries are counted where they leave: each pg client's query function counts every statement.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import * as schema from '../../drizzle/schema/index.js';
import { authenticate } from '../../src/auth/authenticate.js';
import { createLocalInvalidationBus } from '../../src/auth/invalidation.js';
import { hashKey } from '../../src/auth/keys.js';
import { createPrincipalCache, type PrincipalCache, type PrincipalCacheOptions } from '../../src/auth/principal-cache.js';
import { type Db, openDatabase } from '../../src/db/database.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, postgresAvailable, postgresUrl, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';

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

// Counts every statement any client of the pool sends, transactions' included.
function countingDb(url: string): CountingDb {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
  let queries = 0;
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
      queries++;
      return query(...args);
    };
  });
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
  const roles: string[] = [];

  // Each cache gets a pool of its own, so a count holds its own queries only (feed reads included).
  const startCache = async (overrides: Partial<PrincipalCacheOptions> = {}, url = database.url): Promise<{ cache: PrincipalCache; counting: CountingDb }> => {
    const counting = countingDb(url);
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
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    for (const role of roles) await admin.query(`drop role if exists ${role}`);
    await admin.end();
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
    // No feed read falls inside the counts.
    const { cache, counting } = await startCache({ changePollMs: 600_000 });
    await cache.ready;
    const before = counting.queries;
    const same = await Promise.all(Array.from({ length: 50 }, () => cache.get(hashKey(seedKey(777)))));
    expect(new Set(same.map((p) => p?.keyId))).toEqual(new Set(['key_seed_777']));
    expect(counting.queries - before).toBe(1);

    const between = counting.queries;
    const many = await Promise.all(Array.from({ length: 400 }, (_, i) => cache.get(hashKey(seedKey(50_000 + i)))));
    expect(many.every((p, i) => p?.keyId === `key_seed_${50_000 + i}`)).toBe(true);
    expect(counting.queries - between).toBe(1);
  });

  it('sends fewer than 100 queries for 10,000 requests with random invalid keys', async () => {
    // The default feed interval: its reads during the flood are counted too.
    const { cache, counting } = await startCache({ changePollMs: 2_000 });
    await cache.ready;
    const before = counting.queries;
    // Ten at a time, as concurrent clients would, with the event loop turning between rounds as it
    // does between requests: each made-up hash is new, so no cache can help.
    for (let i = 0; i < 1_000; i++) {
      const found = await Promise.all(Array.from({ length: 10 }, () => cache.get(randomHash())));
      expect(found.every((p) => p === undefined)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(counting.queries - before).toBeLessThan(100);
  });

  it('keeps at most auth.cacheMaxEntries principals however many keys are used', async () => {
    const { cache, counting } = await startCache({ maxEntries: 1_000, changePollMs: 600_000 });
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

  it('does not skip a change whose transaction commits after a later one', async () => {
    const { cache } = await startCache();
    await cache.ready;
    const [early, late] = [`tg-${randomBytes(32).toString('base64url')}`, `tg-${randomBytes(32).toString('base64url')}`];
    const insert = (id: string, key: string) => `insert into api_keys (id, org_id, user_id, hash, prefix) values ('${id}', 'org_seed', 'user_seed_3', '${hashKey(key)}', 'tg-late')`;
    const slow = new pg.Client({ connectionString: database.url });
    await slow.connect();
    try {
      await slow.query('begin');
      // Takes the lower change id and holds it open.
      await slow.query(insert('key_early', early));
      const fast = new pg.Client({ connectionString: database.url });
      await fast.connect();
      await fast.query(insert('key_late', late));
      await fast.end();
      // Several feed reads pass while the early transaction is open; none may move past its id.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await slow.query('commit');
    } finally {
      await slow.end();
    }
    await expect.poll(async () => (await cache.get(hashKey(early)))?.keyId, { timeout: 10_000, interval: 100 }).toBe('key_early');
    expect((await cache.get(hashKey(late)))?.keyId).toBe('key_late');
  });

  it('answers 503 auth_unavailable (not 401) for an uncached key while Postgres refuses it, and keeps answering cached keys', async () => {
    // A role of its own, so refusing it leaves every other connection to the server alone.
    const role = `tg_pc_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(`create role ${role} login superuser`);
    const url = new URL(database.url);
    url.username = role;
    roles.push(role);
    const { cache } = await startCache({}, url.toString());
    const headers = (key: string) => ({ authorization: `Bearer ${key}` });
    try {
      expect((await authenticate(headers(seedKey(31_337)), cache, Date.now())).keyId).toBe('key_seed_31337');
      await admin.query(`alter role ${role} nologin`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [role]);
      await expect(authenticate(headers(seedKey(31_338)), cache, Date.now())).rejects.toMatchObject({ code: 'auth_unavailable', status: 503 });
      expect((await authenticate(headers(seedKey(31_337)), cache, Date.now())).keyId).toBe('key_seed_31337');
      await admin.query(`alter role ${role} login`);
      await expect.poll(async () => (await authenticate(headers(seedKey(31_338)), cache, Date.now())).keyId, { timeout: 5_000, interval: 100 }).toBe('key_seed_31338');
    } finally {
      await admin.query(`alter role ${role} login`);
      await admin.end();
    }
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
  });
});
