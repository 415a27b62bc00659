// Gateway replicas on a 3-master Redis Cluster of the suite's own (loopback ports, append-only
// files): six orgs spread over the masters, every org's budget admits exactly its limit, the
// flusher moves every org's stream to the ledger, and a master killed under load fails its orgs
// closed (503 budget_unavailable) while the others keep serving, then serves again by itself;
// the reaper returns the reservations of a replica killed mid-stream; and a replica with
// budget.failureMode open serves a killed master's orgs unmetered, every request in the ledger,
// and meters them again once it returns, without a restart.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageStreamKey } from '../../src/budget/keys.js';
import { driveUntilRefused, ledgerCount, type Outcome, readiness, sendInSession as send, tally } from '../helpers/budget-load.js';
import { type Cluster as Deployment, startCluster } from '../helpers/cluster.js';
import { openControlPlane } from '../helpers/control-plane.js';
import { spawnGateway } from '../helpers/processes.js';
import { type RedisClusterFixture, type RedisServer, redisServerProblem, startRedisCluster } from '../helpers/redis-cluster.js';
import { postgresAvailable } from '../helpers/services.js';

const serverProblem = redisServerProblem();
if (serverProblem) process.stdout.write(`skipping: ${serverProblem}\n`);
const ready = !serverProblem && (await postgresAvailable());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leaseMs = 3_000;
const reaperIntervalMs = 500;
// Requests per user and session: each org has one user, and each test its own session.
const limit = 60;

interface Org {
  name: string;
  key: string;
  orgId: string;
  userId: string;
  node: RedisServer;
}

describe.skipIf(!ready)('gateway replicas on a 3-master Redis Cluster', () => {
  let redis: RedisClusterFixture;
  let deployment: Deployment;
  const orgs: Org[] = [];
  let gatewayAt: (i: number) => string;

  async function createOrgs(count: number): Promise<void> {
    const controlPlane = await openControlPlane(deployment.env);
    try {
      for (let i = 0; i < count; i++) {
        const name = `org-${orgs.length}`;
        const { key, orgId, userId } = await controlPlane.createKey({ org: name, user: `${name}-user` });
        orgs.push({ name, key, orgId, userId, node: await redis.nodeOf(usageStreamKey(deployment.prefix, orgId)) });
      }
    } finally {
      await controlPlane.close();
    }
  }

  const mastersUsed = () => new Set(orgs.map((o) => o.node.port)).size;

  beforeAll(async () => {
    redis = await startRedisCluster(3, { persistent: true });
    deployment = await startCluster('redis_cluster', 3, {
      REDIS_URL: redis.url,
      TOLLGATE_SERVER__WORKERS: '1',
      TOLLGATE_BUDGET__LEASE_MS: String(leaseMs),
      TOLLGATE_BUDGET__REAPER_INTERVAL_MS: String(reaperIntervalMs),
      TOLLGATE_USAGE__FLUSH_INTERVAL_MS: '50',
      TOLLGATE_USAGE__ORG_REFRESH_MS: '500',
      // A read whose reply died with the master leaves its entries pending with no live reader:
      // another flusher claims them after this (60 s by default).
      TOLLGATE_USAGE__CLAIM_IDLE_MS: '2000',
      TOLLGATE_BUDGET__BUDGETS: JSON.stringify([{ scope: 'user', scopeId: '*', metric: 'requests', window: 'session', limit, requireSession: true }]),
    });
    const { gateways } = deployment;
    gatewayAt = (i) => gateways[i % gateways.length]!.url;
    // Org ids are random, so their slots are: six sit on one master once in 243 runs; twelve, never.
    await createOrgs(6);
    if (mastersUsed() < 2) await createOrgs(6);
  }, 120_000);

  afterAll(async () => {
    await deployment?.stop();
    await redis?.stop();
  });

  it('spreads the orgs over the masters by their {org} hash tag, and every replica serves every org', async () => {
    expect(orgs.length).toBeGreaterThanOrEqual(6);
    expect(mastersUsed()).toBeGreaterThanOrEqual(2);
    // New keys reach every replica through the invalidation channel.
    for (const org of orgs) {
      for (const g of deployment.gateways) await expect.poll(async () => (await send(g.url, org.key, 'warmup')).result, { timeout: 5_000, interval: 100 }).toBe('200');
    }
  });

  it("admits exactly each org's limit out of concurrent requests over three replicas, and the ledger holds every admitted request", async () => {
    const perOrg = limit + 20;
    // Twenty in flight per org at any time, over three replicas.
    const outcomes = await Promise.all(orgs.map(async (org) => {
      const mine: Outcome[] = [];
      let next = 0;
      await Promise.all(Array.from({ length: 20 }, async () => {
        for (let i = next++; i < perOrg; i = next++) mine.push(await send(gatewayAt(i), org.key, 'burst'));
      }));
      return mine;
    }));
    for (const perOrgOutcomes of outcomes) expect(tally(perOrgOutcomes)).toEqual({ 200: limit, '429 budget_exceeded': perOrg - limit });
    for (const org of orgs) await expect.poll(() => ledgerCount(deployment.databaseUrl, org.orgId, 'burst'), { timeout: 15_000, interval: 250 }).toBe(limit);
  });

  it('fails the orgs of a killed master closed while the others keep serving, recovers when it returns, and never overspends', async () => {
    const orgsOn = (node: RedisServer) => orgs.filter((o) => o.node === node).length;
    // The master holding the most orgs goes away.
    const victim = [...new Set(orgs.map((o) => o.node))].sort((a, b) => orgsOn(b) - orgsOn(a))[0]!;
    const onVictim = (org: Org) => org.node === victim;

    // Each org sends one request at a time, ten a second, until its session budget has refused three.
    const outcomes = new Map<string, Outcome[]>();
    const urls = deployment.gateways.map((g) => g.url);
    const deadlineMs = performance.now() + 45_000;
    const load = Promise.all(orgs.map(async (org) => outcomes.set(org.name, await driveUntilRefused(urls, org.key, 'kill', { intervalMs: 100, deadlineMs }))));

    await sleep(1_500);
    await victim.kill();
    const killedAtMs = performance.now();
    // Long enough for the other masters to mark it failed (cluster-node-timeout 2 s). The replicas
    // stay in rotation, degraded: the orgs on the other masters are served.
    await sleep(3_000);
    for (const g of deployment.gateways) await expect.poll(() => readiness(g.url), { timeout: 2_000, interval: 100 }).toEqual({ status: 200, state: 'degraded' });
    await victim.start();
    const restartedAtMs = performance.now();
    await load;

    const during = (o: Outcome) => o.startedAtMs >= killedAtMs && o.startedAtMs + o.durationMs <= restartedAtMs;
    for (const org of orgs) {
      const mine = outcomes.get(org.name)!;
      const served = mine.filter((o) => o.result === '200').length;
      // Exactly the limit over the whole run: nothing was admitted twice or lost from a counter.
      expect({ org: org.name, served }).toEqual({ org: org.name, served: limit });
      expect(mine.every((o) => ['200', '429 budget_exceeded', '503 budget_unavailable'].includes(o.result)), JSON.stringify(tally(mine))).toBe(true);
      if (onVictim(org)) {
        // Closed while the master was away, and never slowly: no request waits for the node.
        expect(mine.filter(during).length).toBeGreaterThan(0);
        expect(mine.filter(during).every((o) => o.result === '503 budget_unavailable')).toBe(true);
        expect(Math.max(...mine.filter((o) => o.result.startsWith('503')).map((o) => o.durationMs))).toBeLessThan(3_000);
      } else {
        expect(mine.some((o) => during(o) && o.result === '200')).toBe(true);
        expect(tally(mine)['503 budget_unavailable']).toBeUndefined();
      }
    }

    for (const g of deployment.gateways) await expect.poll(() => readiness(g.url), { timeout: 5_000, interval: 100 }).toEqual({ status: 200, state: 'ready' });

    // Reservations of requests in flight when the master died are returned by now; the budget
    // still refuses, so none of them was refunded after being served.
    await sleep(leaseMs + reaperIntervalMs * 2);
    for (const org of orgs) expect((await send(gatewayAt(0), org.key, 'kill')).result).toBe('429 budget_exceeded');
    for (const org of orgs) await expect.poll(() => ledgerCount(deployment.databaseUrl, org.orgId, 'kill'), { timeout: 15_000, interval: 250 }).toBe(limit);

    const victimOutcomes = orgs.filter(onVictim).flatMap((o) => outcomes.get(o.name)!);
    const firstServedAfter = Math.min(...victimOutcomes.filter((o) => o.startedAtMs >= restartedAtMs && o.result === '200').map((o) => o.startedAtMs));
    const refusedMs = victimOutcomes.filter((o) => o.result.startsWith('503')).map((o) => o.durationMs).sort((a, b) => a - b);
    process.stdout.write(
      `redis-cluster: ${orgs.filter(onVictim).length} of ${orgs.length} orgs on the killed master; ${refusedMs.length} answered 503 ` +
        `(median ${Math.round(refusedMs[Math.floor(refusedMs.length / 2)]!)} ms, slowest ${Math.round(refusedMs.at(-1)!)} ms); ` +
        `served again ${Math.round(firstServedAfter - restartedAtMs)} ms after the restart\n`,
    );
  }, 90_000);

  it("returns the reservations of a replica killed mid-stream (the reaper, org by org on the cluster), and charges them nothing", async () => {
    const org = orgs[0]!;
    const session = 'reap';
    // The session's counter: a hash on the org's master.
    const bucketKey = `${deployment.prefix}{org:${org.orgId}}:b:user:${org.userId}:requests:session:${session}`;
    const client = redis.client();
    const bucket = async () => {
      const [used, reserved] = await client.hmget(bucketKey, 'u', 'r');
      return { used: Number(used ?? 0), reserved: Number(reserved ?? 0) };
    };
    const doomed = deployment.gateways.at(-1)!;
    const streams = Array.from({ length: 3 }, () =>
      request(`${doomed.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${org.key}`, 'content-type': 'application/json', 'x-session-id': session },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, max_tokens: 5, messages: [{ role: 'user', content: '[mock chunks=40 delay_ms=250]' }] }),
      }).then((res) => res.body.text()).catch(() => ''),
    );
    await expect.poll(bucket, { timeout: 5_000, interval: 100 }).toEqual({ used: 0, reserved: 3 });

    await doomed.stop('SIGKILL');
    deployment.gateways.pop();
    const killedAtMs = performance.now();
    await expect.poll(bucket, { timeout: leaseMs + reaperIntervalMs + 5_000, interval: 100 }).toEqual({ used: 0, reserved: 0 });
    expect(performance.now() - killedAtMs).toBeLessThan(leaseMs + reaperIntervalMs + 3_000);
    await Promise.all(streams);
  });

  it('serves the orgs of a killed master unmetered with failureMode open, records every request, and meters them again once it returns', async () => {
    const open = await spawnGateway({ ...deployment.env, TOLLGATE_BUDGET__FAILURE_MODE: 'open' }, 60_000);
    try {
      const orgsOn = (node: RedisServer) => orgs.filter((o) => o.node === node).length;
      const victim = [...new Set(orgs.map((o) => o.node))].sort((a, b) => orgsOn(b) - orgsOn(a))[0]!;
      const onVictim = (org: Org) => org.node === victim;
      const session = 'open';
      // A metered answer carries the budget's x-ratelimit headers; a fail-open one has none.
      interface Answer extends Outcome {
        metered: boolean;
      }
      const sendOpen = async (org: Org): Promise<Answer> => {
        const startedAtMs = performance.now();
        const res = await request(`${open.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${org.key}`, 'content-type': 'application/json', 'x-session-id': session },
          body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
        });
        const body = (await res.body.json()) as { error?: { code?: string } };
        const result = res.statusCode === 200 ? '200' : `${res.statusCode} ${body.error?.code}`;
        return { result, metered: res.headers['x-ratelimit-limit-requests'] !== undefined, startedAtMs, durationMs: performance.now() - startedAtMs };
      };

      // A fresh replica's first requests are slow (scripts loaded, connections opened): before the kill.
      const warmUps = new Map(orgs.map((o) => [o.name, 0]));
      for (const org of orgs) {
        await expect.poll(async () => {
          warmUps.set(org.name, warmUps.get(org.name)! + 1);
          return (await sendOpen(org)).metered;
        }, { timeout: 30_000, interval: 100 }).toBe(true);
      }
      // Four requests a second per org, one at a time, until stopped: well under the session's limit.
      const answers = new Map<string, Answer[]>(orgs.map((o) => [o.name, []]));
      let driving = true;
      const load = Promise.all(orgs.map(async (org) => {
        while (driving) {
          answers.get(org.name)!.push(await sendOpen(org));
          await sleep(250);
        }
      }));
      await sleep(1_000);
      await victim.kill();
      const killedAtMs = performance.now();
      await sleep(5_000);
      await victim.start();
      const restartedAtMs = performance.now();
      // Back to metered by itself: every org on the returned master gets x-ratelimit headers again.
      await expect.poll(() => orgs.filter(onVictim).every((o) => answers.get(o.name)!.some((a) => a.startedAtMs > restartedAtMs && a.metered)), { timeout: 15_000, interval: 100 }).toBe(true);
      const meteredAgainMs = performance.now() - restartedAtMs;
      await sleep(500);
      driving = false;
      await load;

      const during = (a: Answer) => a.startedAtMs >= killedAtMs && a.startedAtMs + a.durationMs <= restartedAtMs;
      const startedDuring = (a: Answer) => a.startedAtMs >= killedAtMs && a.startedAtMs < restartedAtMs;
      for (const org of orgs) {
        const mine = answers.get(org.name)!;
        // Never refused: open means served.
        expect({ org: org.name, tally: tally(mine) }).toEqual({ org: org.name, tally: { 200: mine.length } });
        const away = mine.filter(during);
        // Each answer as [start after the kill, duration, metered], for a failure's message.
        const timeline = JSON.stringify({ org: org.name, victim: onVictim(org), restartedAfterMs: Math.round(restartedAtMs - killedAtMs), answers: mine.map((a) => [Math.round(a.startedAtMs - killedAtMs), Math.round(a.durationMs), a.metered]) });
        if (onVictim(org)) {
          // Served without the budget (no headers) while the node was away, so without waiting for
          // it to return. How long failing open takes (the command timeout plus a served request)
          // is printed, not bounded: on a loaded two-core box a served request alone took seconds.
          expect(away.length, timeline).toBeGreaterThan(0);
          expect(away.every((a) => !a.metered), timeline).toBe(true);
        } else {
          // Metered throughout: their masters never left.
          expect(mine.some(startedDuring), timeline).toBe(true);
          expect(mine.every((a) => a.metered), timeline).toBe(true);
        }
        // Every answered request, the warm-up's included, reached the ledger once: the fail-open
        // ones through the in-process queue.
        await expect.poll(() => ledgerCount(deployment.databaseUrl, org.orgId, session), { timeout: 15_000, interval: 250 }).toBe(mine.length + warmUps.get(org.name)!);
      }
      // The absorbed store failures are in the log, as for a standalone Redis.
      expect(open.output()).toMatch(/"context":"reserve"[^\n]*budget store failure absorbed/);
      const servedOpen = orgs.filter(onVictim).flatMap((o) => answers.get(o.name)!.filter((a) => !a.metered));
      process.stdout.write(
        `redis-cluster (open): ${servedOpen.length} requests of ${orgs.filter(onVictim).length} orgs served unmetered while their master was away ` +
          `(slowest ${Math.round(Math.max(...servedOpen.map((a) => a.durationMs)))} ms); metered again within ${Math.round(meteredAgainMs)} ms of its restart\n`,
      );
    } finally {
      await open.stop();
    }
  }, 90_000);
});
