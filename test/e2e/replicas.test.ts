// Several gateway processes sharing one Redis and one Postgres, driven through the real CLI.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { type GatewayProcess, runCli, spawnGateway } from '../helpers/processes.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';

const ready = (await redisAvailable()) && (await postgresAvailable());

describe.skipIf(!ready)('replicas sharing Redis and Postgres', () => {
  let mock: MockUpstream;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: Record<string, string>;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    mock = await startMockUpstream();
    database = await createTestDatabase('replicas');
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      TOLLGATE_REDIS_KEY_PREFIX: uniquePrefix('replicas'),
      OPENAI_BASE_URL: `${mock.url}/v1`,
      OPENAI_API_KEY: 'sk-upstream',
    };
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await mock?.close();
    await database?.drop();
  });

  const chat = (url: string, key: string) =>
    request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    }).then(async (res) => {
      await res.body.dump();
      return res.statusCode;
    });

  it('refuses to start against an unmigrated database', async () => {
    await expect(spawnGateway(env)).rejects.toThrow(/tollgate migrate/);
  });

  it('serves a key created by the CLI on every replica, and stops it on every replica within a second of revocation', async () => {
    const migrated = await runCli(['migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    gateways.push(await spawnGateway(env), await spawnGateway(env));

    const created = await runCli(['keys', 'create', '--user', 'alice', '--team', 'research', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
    expect(key).toMatch(/^tg-[A-Za-z0-9_-]{43}$/);

    // A key created after the replicas started reaches them through the invalidation channel.
    for (const g of gateways) await expect.poll(() => chat(g.url, key), { timeout: 1_000, interval: 50 }).toBe(200);

    const revoked = await runCli(['keys', 'revoke', id], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    const revokedAt = performance.now();
    for (const g of gateways) await expect.poll(() => chat(g.url, key), { timeout: 1_000, interval: 25 }).toBe(401);
    expect(performance.now() - revokedAt).toBeLessThan(1_000);
  });

  it('lets an open stream finish when a replica is told to stop', async () => {
    const created = JSON.parse((await runCli(['keys', 'create', '--user', 'bob', '--json'], env)).stdout) as { key: string };
    const g = gateways[0]!;
    await expect.poll(() => chat(g.url, created.key), { timeout: 1_000, interval: 50 }).toBe(200);
    const res = await request(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: '[mock chunks=6 delay_ms=100]' }] }),
    });
    const exit = g.stop('SIGTERM');
    const text = await res.body.text();
    expect(text).toContain('tok5');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await exit).toBe(0);
    gateways.shift();
  });
});
