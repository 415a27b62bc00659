// Budget changes made through the control plane reach every replica within a second, and a change
// mid-window never resets what was already spent.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { type GatewayProcess, runCli, spawnGateway } from '../helpers/processes.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';

const ready = (await redisAvailable()) && (await postgresAvailable());
const adminKey = 'tga-budget-changes-0123456789abcdef';

describe.skipIf(!ready)('budget changes across replicas', () => {
  let mock: MockUpstream;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: Record<string, string>;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    mock = await startMockUpstream();
    database = await createTestDatabase('budget_changes');
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      TOLLGATE_REDIS_KEY_PREFIX: uniquePrefix('budget-changes'),
      OPENAI_BASE_URL: `${mock.url}/v1`,
      OPENAI_API_KEY: 'sk-upstream',
      TOLLGATE_ADMIN_KEY: adminKey,
    };
    expect((await runCli(['migrate'], env)).code).toBe(0);
    gateways.push(await spawnGateway(env), await spawnGateway(env));
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
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    }).then(async (res) => {
      await res.body.dump();
      return res.statusCode;
    });

  it('enforces a budget set through the admin API on both replicas within a second, and keeps spend when it is raised', async () => {
    const created = JSON.parse((await runCli(['keys', 'create', '--user', 'alice', '--json'], env)).stdout) as { key: string };
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    await expect.poll(() => chat(a.url, created.key), { timeout: 1_000, interval: 50 }).toBe(200);
    await expect.poll(() => chat(b.url, created.key), { timeout: 1_000, interval: 50 }).toBe(200);

    const online = { ...env, TOLLGATE_URL: a.url };
    const setLimit = async (limit: number) => {
      const result = await runCli(['budgets', 'set', '--user', 'alice', '--metric', 'requests', '--window', 'day', '--limit', String(limit), '--json'], online);
      expect(result.code, result.stderr).toBe(0);
      return performance.now();
    };

    // A zero budget closes the door on the other replica within a second.
    const closedAt = await setLimit(0);
    await expect.poll(() => chat(b.url, created.key), { timeout: 1_000, interval: 20 }).toBe(429);
    expect(performance.now() - closedAt).toBeLessThan(1_000);
    expect(await chat(a.url, created.key)).toBe(429);

    // Raised to 3: three requests in all, across both replicas.
    const openedAt = await setLimit(3);
    await expect.poll(() => chat(b.url, created.key), { timeout: 1_000, interval: 20 }).toBe(200);
    expect(performance.now() - openedAt).toBeLessThan(1_000);
    expect(await chat(a.url, created.key)).toBe(200);
    expect(await chat(b.url, created.key)).toBe(200);
    expect(await chat(a.url, created.key)).toBe(429);

    // Raised to 5 mid-window: two more, not five; spend already counted is kept.
    await setLimit(5);
    await expect.poll(() => chat(a.url, created.key), { timeout: 1_000, interval: 20 }).toBe(200);
    expect(await chat(b.url, created.key)).toBe(200);
    expect(await chat(a.url, created.key)).toBe(429);
    expect(await chat(b.url, created.key)).toBe(429);
  });
});
