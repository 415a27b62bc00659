// Rate and concurrency limits set through the admin API are stored in Postgres and enforced on
// the real Redis store by every replica: two gateways share Redis and Postgres, a limit is set
// through one, and the other answers 429 rate_limited within a second; deleting it lifts it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { createAdminKey } from '../../src/control/admin-keys.js';
import { openDatabase } from '../../src/db/database.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/processes.js';
import { chatStatus } from '../helpers/requests.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';
import { setupChange } from './support.js';

const ready = (await redisAvailable()) && (await postgresAvailable());

describe.skipIf(!ready)('rate and concurrency limits through the admin API', () => {
  let mock: MockUpstream;
  let database: { url: string; drop(): Promise<void> };
  let a: TestGateway;
  let b: TestGateway;
  let adminToken: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    mock = await startMockUpstream();
    database = await createTestDatabase('limits');
    const migrating = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    await migrating.migrate();
    await migrating.close();
    env = { DATABASE_URL: database.url, REDIS_URL: redisUrl, TOLLGATE_REDIS_KEY_PREFIX: uniquePrefix('limits') };
    a = await startTestGateway({ mock, env });
    b = await startTestGateway({ mock, env });
    adminToken = (await createAdminKey(a.app.database.db, setupChange, { name: 'limits-test', role: 'admin' })).key;
  }, 600_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await mock?.close();
    await database?.drop();
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await request(`${a.url}/admin/v1${path}`, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, body: (await res.body.json()) as any };
  };

  const chat = async (url: string, key: string) => {
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
    });
    return { status: res.statusCode, body: (await res.body.json()) as any };
  };

  it('limits a user set through one replica on the other, with 429 rate_limited, and lifts it on delete', async () => {
    const bob = await a.newKey({ user: 'bob' });
    expect(await chatStatus(b.url, bob.key)).toBe(200);
    const set = await admin('PUT', '/limits', { scope: 'user', scopeId: bob.userId, rpm: 1 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ scope: 'user', scopeId: bob.userId, rpm: 1, tpm: null, concurrency: null, orgId: bob.orgId });
    // One request a minute: once the rule is in force on B, the second request in the minute is refused.
    await expect.poll(async () => (await chat(b.url, bob.key)).status, { timeout: 5_000, interval: 50 }).toBe(429);
    const refused = await chat(b.url, bob.key);
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'rate_limited', type: 'rate_limit_error' } } });
    expect(await chatStatus(a.url, bob.key)).toBe(429);

    const listed = await admin('GET', `/limits?scope=user&scopeId=${bob.userId}`);
    expect(listed.body.data).toEqual([expect.objectContaining({ id: set.body.id, rpm: 1 })]);
    expect((await admin('DELETE', `/limits/${set.body.id}`)).status).toBe(200);
    await expect.poll(() => chatStatus(b.url, bob.key), { timeout: 5_000, interval: 50 }).toBe(200);
  });

  it("applies an org's limit to every member together (a scope the config file could not name by id)", async () => {
    const org = await a.newKey({ org: 'limited-org', user: 'carol' });
    const other = await a.newKey({ org: 'limited-org', user: 'dan' });
    const set = await admin('PUT', '/limits', { scope: 'org', scopeId: org.orgId, rpm: 1 });
    expect(set.status).toBe(200);
    await expect.poll(async () => (await chat(b.url, org.key)).status, { timeout: 5_000, interval: 50 }).toBe(429);
    expect(await chat(b.url, other.key)).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
    // Another org is not touched.
    expect(await chatStatus(b.url, a.key)).toBe(200);
  });

  it('caps requests in flight for a team shared by its members', async () => {
    const erin = await a.newKey({ org: 'acme', team: 'research', user: 'erin' });
    const team = await admin('PUT', '/limits', { scope: 'team', scopeId: erin.teamId, concurrency: 1 });
    expect(team.body).toMatchObject({ scope: 'team', concurrency: 1 });
    mock.defaults.firstDelayMs = 1_500;
    try {
      await expect
        .poll(async () => (await Promise.all([chatStatus(b.url, erin.key), chatStatus(b.url, erin.key)])).sort(), { timeout: 20_000, interval: 100 })
        .toEqual([200, 429]);
    } finally {
      mock.defaults.firstDelayMs = 0;
    }
  });

  it('refuses a limit that limits nothing or is not a positive whole number, naming the field', async () => {
    const body = { scope: 'user', scopeId: a.created.userId };
    expect(await admin('PUT', '/limits', body)).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect(await admin('PUT', '/limits', { ...body, tpm: 0 })).toMatchObject({ status: 400, body: { error: { param: expect.stringContaining('tpm') } } });
    expect(await admin('PUT', '/limits', { ...body, scope: 'planet' })).toMatchObject({ status: 400 });
  });

  it('tollgate limits set and list work through the admin API', async () => {
    const online = { ...env, TOLLGATE_URL: a.url, TOLLGATE_ADMIN_KEY: adminToken };
    const set = await runCli(['limits', 'set', '--org', 'acme', '--user', 'alice', '--tpm', '50000', '--concurrency', '4', '--json'], online);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ scope: 'user', scopeId: a.created.userId, tpm: 50_000, concurrency: 4 });
    const list = await runCli(['limits', 'list', '--org', 'acme'], online);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^id\s+scope\s+scopeId\s+rpm\s+tpm\s+concurrency/);
    expect(list.stdout).toContain('50000');
  }, 180_000);
});
