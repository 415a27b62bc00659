// Several gateway processes sharing one Redis and one Postgres, driven through the real CLI.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { runCli, spawnGateway } from '../helpers/processes.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl } from '../helpers/services.js';
import { chatStatus } from '../helpers/requests.js';

const ready = (await redisAvailable()) && (await postgresAvailable());

const chat = (url: string, key: string) => chatStatus(url, key);

describe.skipIf(!ready)('a replica on an unmigrated database', () => {
  it('refuses to start and says how to migrate', async () => {
    const database = await createTestDatabase('unmigrated');
    try {
      await expect(spawnGateway({ DATABASE_URL: database.url, REDIS_URL: redisUrl })).rejects.toThrow(/tollgate migrate/);
    } finally {
      await database.drop();
    }
  });
});

describe.skipIf(!ready)('replicas sharing Redis and Postgres', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster('replicas', 2);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('serves a key created by the CLI on every replica, and stops it on every replica within a second of revocation', async () => {
    const { key, id } = await cluster.key('alice', ['--team', 'research']);
    expect(key).toMatch(/^tg-[A-Za-z0-9_-]{43}$/);

    // A key created after the replicas started reaches them through the invalidation channel.
    for (const g of cluster.gateways) await expect.poll(() => chat(g.url, key), { timeout: 1_000, interval: 50 }).toBe(200);

    const revoked = await runCli(['keys', 'revoke', id], cluster.env);
    expect(revoked.code, revoked.stderr).toBe(0);
    const revokedAt = performance.now();
    for (const g of cluster.gateways) await expect.poll(() => chat(g.url, key), { timeout: 1_000, interval: 25 }).toBe(401);
    expect(performance.now() - revokedAt).toBeLessThan(1_000);
  });

  it('lets an open stream finish when a replica is told to stop', async () => {
    const { key } = await cluster.key('bob');
    const g = cluster.gateways[0]!;
    await expect.poll(() => chat(g.url, key), { timeout: 1_000, interval: 50 }).toBe(200);
    const res = await request(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: '[mock chunks=6 delay_ms=100]' }] }),
    });
    const exit = g.stop('SIGTERM');
    const text = await res.body.text();
    expect(text).toContain('tok5');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await exit).toBe(0);
    cluster.gateways.shift();
  });
});
