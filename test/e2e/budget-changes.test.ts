// Budget changes made through the control plane reach every replica within a second, and a change
// mid-window never resets what was already spent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { type GatewayProcess, runCli } from '../helpers/processes.js';
import { postgresAvailable, redisAvailable } from '../helpers/services.js';
import { chatStatus, smallChat } from '../helpers/requests.js';

const ready = (await redisAvailable()) && (await postgresAvailable());
const adminKey = 'tga-budget-changes-0123456789abcdef';

describe.skipIf(!ready)('budget changes across replicas', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster('budget_changes', 2, { TOLLGATE_ADMIN_KEY: adminKey });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const chat = (url: string, key: string) => chatStatus(url, key, { ...smallChat, max_tokens: 5 });

  it('enforces a budget set through the admin API on both replicas within a second, and keeps spend when it is raised', async () => {
    const created = await cluster.key('alice');
    const [a, b] = cluster.gateways as [GatewayProcess, GatewayProcess];
    await expect.poll(() => chat(a.url, created.key), { timeout: 1_000, interval: 50 }).toBe(200);
    await expect.poll(() => chat(b.url, created.key), { timeout: 1_000, interval: 50 }).toBe(200);

    const online = { ...cluster.env, TOLLGATE_URL: a.url };
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

    // What the user sees: `tollgate usage` with their own key.
    const status = await runCli(['usage', '--json'], { ...cluster.env, TOLLGATE_URL: b.url, TOLLGATE_KEY: created.key });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).budgets).toEqual([expect.objectContaining({ scope: 'user', metric: 'requests', window: 'day', limit: 5, used: 5, remaining: 0, percent: 100 })]);
    const table = await runCli(['usage'], { ...cluster.env, TOLLGATE_URL: b.url, TOLLGATE_KEY: created.key });
    expect(table.stdout).toMatch(/^scope\s+scope_id\s+metric/);
  }, 90_000);
});
