// A gateway on a Sentinel-managed Redis (one master, one replica, one sentinel of the suite's own,
// on loopback ports) through redis+sentinel://: budgets are exact on the master the sentinel
// names, and when that master is killed the gateway follows the failover to the promoted replica
// by itself, failing closed (503 budget_unavailable) until then and never overspending.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveUntilRefused, ledgerCount, sendInSession, tally } from '../helpers/budget-load.js';
import { type Cluster as Deployment, startCluster } from '../helpers/cluster.js';
import { openControlPlane } from '../helpers/control-plane.js';
import { type RedisSentinelFixture, redisServerProblem, startRedisSentinel } from '../helpers/redis-cluster.js';
import { postgresAvailable } from '../helpers/services.js';

const serverProblem = redisServerProblem();
if (serverProblem) process.stdout.write(`skipping: ${serverProblem}\n`);
const ready = !serverProblem && (await postgresAvailable());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Requests per session.
const limit = 40;

describe.skipIf(!ready)('a gateway on a Sentinel-managed Redis', () => {
  let sentinel: RedisSentinelFixture;
  let deployment: Deployment;
  let key: string;
  let orgId: string;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    deployment = await startCluster('redis_sentinel', 1, {
      REDIS_URL: sentinel.url,
      TOLLGATE_SERVER__WORKERS: '1',
      TOLLGATE_BUDGET__LEASE_MS: '3000',
      TOLLGATE_BUDGET__REAPER_INTERVAL_MS: '500',
      TOLLGATE_USAGE__FLUSH_INTERVAL_MS: '50',
      // The org is made after the gateway starts: its usage stream is found within this.
      TOLLGATE_USAGE__ORG_REFRESH_MS: '500',
      // A read whose reply died with the master leaves its entries pending with no live reader:
      // another flusher claims them after this (60 s by default).
      TOLLGATE_USAGE__CLAIM_IDLE_MS: '2000',
      TOLLGATE_BUDGET__BUDGETS: JSON.stringify([{ scope: 'user', scopeId: '*', metric: 'requests', window: 'session', limit, requireSession: true }]),
    });
    const controlPlane = await openControlPlane(deployment.env);
    try {
      ({ key, orgId } = await controlPlane.createKey({ org: 'sentinel-org', user: 'sentinel-user' }));
    } finally {
      await controlPlane.close();
    }
  }, 120_000);

  afterAll(async () => {
    await deployment?.stop();
    await sentinel?.stop();
  });

  it('admits exactly the limit out of concurrent requests, on the master the sentinel names', async () => {
    const url = deployment.gateways[0]!.url;
    await expect.poll(async () => (await sendInSession(url, key, 'warmup')).result, { timeout: 5_000, interval: 100 }).toBe('200');
    const outcomes = await Promise.all(Array.from({ length: limit + 20 }, () => sendInSession(url, key, 'burst')));
    expect(tally(outcomes)).toEqual({ 200: limit, '429 budget_exceeded': 20 });
    await expect.poll(() => ledgerCount(deployment.databaseUrl, orgId, 'burst'), { timeout: 15_000, interval: 250 }).toBe(limit);
  });

  it('follows a failover to the promoted replica by itself, failing closed meanwhile, and never overspends', async () => {
    const url = deployment.gateways[0]!.url;
    const oldMasterPort = await sentinel.currentMasterPort();
    expect(oldMasterPort).toBe(sentinel.master.port);
    const load = driveUntilRefused([url], key, 'failover', { intervalMs: 100, deadlineMs: performance.now() + 40_000 });

    await sleep(1_000);
    await sentinel.master.kill();
    const killedAtMs = performance.now();
    // down-after-milliseconds 1 s, then the sentinel promotes the replica.
    await expect.poll(() => sentinel.currentMasterPort(), { timeout: 15_000, interval: 200 }).toBe(sentinel.replica.port);
    const promotedAtMs = performance.now();
    const outcomes = await load;

    expect(outcomes.every((o) => ['200', '429 budget_exceeded', '503 budget_unavailable'].includes(o.result)), JSON.stringify(tally(outcomes))).toBe(true);
    // Replication to the replica is asynchronous; at ten requests a second on loopback it has
    // caught up, so the promoted replica holds every counter: exactly the limit in all.
    expect(outcomes.filter((o) => o.result === '200').length).toBe(limit);
    expect(outcomes.filter((o) => o.startedAtMs > killedAtMs && o.result === '503 budget_unavailable').length).toBeGreaterThan(0);
    expect(Math.max(...outcomes.filter((o) => o.result.startsWith('503')).map((o) => o.durationMs))).toBeLessThan(3_000);
    const firstServedAfter = Math.min(...outcomes.filter((o) => o.startedAtMs > killedAtMs && o.result === '200').map((o) => o.startedAtMs));
    await expect.poll(() => ledgerCount(deployment.databaseUrl, orgId, 'failover'), { timeout: 15_000, interval: 250 }).toBe(limit);
    process.stdout.write(
      `redis-sentinel: replica promoted ${Math.round(promotedAtMs - killedAtMs)} ms after the master was killed; ` +
        `served again ${Math.round(firstServedAfter - killedAtMs)} ms after the kill; ${tally(outcomes)['503 budget_unavailable'] ?? 0} answered 503\n`,
    );
  }, 60_000);
});
