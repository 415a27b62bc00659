// One evaluator at a time across replicas: two evaluators share a Redis lock and a Postgres alert
// store; only the lock holder runs the rules, the other takes over within the lock's lifetime when
// the holder dies (and at once when it stops cleanly), with a larger fencing token; the alert a rule
// raises is stored once and cleared once. Without Redis, a Postgres session advisory lock does the
// same: one holder, freed when its session ends, a larger token for the next.
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts as alertsTable } from '../../drizzle/schema/index.js';
import { startEvaluator, type Evaluator } from '../../src/alerts/evaluator.js';
import { createPostgresLeaderLock, createProcessLeaderLock, createRedisLeaderLock, type LeaderState } from '../../src/alerts/leader.js';
import type { AlertRule } from '../../src/alerts/source.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';
import { alertsConfig, openAlertDb, startTestAlerts, type AlertDb } from './support.js';

const ready = (await redisAvailable()) && (await postgresAvailable());
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const ttlMs = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!ready)('alert evaluator leadership', () => {
  let store: AlertDb;
  let alerts: ReturnType<typeof startTestAlerts>;
  const redis: Redis[] = [];
  const prefix = uniquePrefix('evaluator');
  // The condition the test rule reports, and which evaluator ran it each time.
  let condition = true;
  const ranBy: string[] = [];
  const rule = (who: string): AlertRule => ({
    name: 'test.condition',
    async evaluate() {
      ranBy.push(who);
      return [{ firing: condition, input: { fingerprint: 'test:condition', source: 'health', name: 'test.condition', severity: 'high', summary: 'The test condition holds.', orgId: 'org_a' } }];
    },
  });

  function evaluator(who: string): Evaluator {
    const client = new Redis(redisUrl);
    redis.push(client);
    return startEvaluator({ lock: createRedisLeaderLock(client, prefix, ttlMs, who), rules: [{ rule: rule(who) }], sink: alerts.sink, intervalMs: 100, logger }, false);
  }

  beforeAll(async () => {
    store = await openAlertDb('postgres', 'alert_evaluator');
    alerts = startTestAlerts(store.database, alertsConfig({ enabled: false }));
  });
  afterAll(async () => {
    await alerts?.stop();
    await store?.drop();
    const keys = await redis[0]!.keys(`${prefix}*`);
    if (keys.length > 0) await redis[0]!.del(...keys);
    for (const r of redis) r.disconnect();
  });

  it('runs the rules on one replica only; the other takes over within the lock lifetime when it dies, or at once when it stops', { timeout: 20_000 }, async () => {
    const a = evaluator('a');
    const b = evaluator('b');
    const states: Record<string, LeaderState[]> = { a: [], b: [] };
    for (let i = 0; i < 10; i++) {
      states.a!.push(await a.runOnce());
      states.b!.push(await b.runOnce());
      await sleep(50);
    }
    expect(new Set(ranBy)).toEqual(new Set(['a']));
    expect(states.b!.every((s) => s.kind === 'follower')).toBe(true);
    const tokenA = (states.a![0] as { token: number }).token;
    expect(states.a!.every((s) => s.kind === 'leader' && s.token === tokenA)).toBe(true);
    const stored = await store.database.db.select().from(alertsTable);
    expect(stored).toMatchObject([{ fingerprint: 'test:condition', state: 'firing' }]);

    // a dies without releasing: b keeps asking, and leads once the lock's lifetime is over.
    ranBy.length = 0;
    const diedMs = Date.now();
    let takeover: LeaderState = { kind: 'follower' };
    while (takeover.kind !== 'leader' && Date.now() - diedMs < ttlMs * 3) {
      takeover = await b.runOnce();
      await sleep(50);
    }
    const takeoverMs = Date.now() - diedMs;
    process.stdout.write(`evaluator takeover after the holder died: ${takeoverMs} ms (lock lifetime ${ttlMs} ms)\n`);
    expect(takeover.kind).toBe('leader');
    expect(takeoverMs).toBeLessThanOrEqual(ttlMs + 200);
    expect((takeover as { token: number }).token).toBeGreaterThan(tokenA);
    expect(ranBy).toEqual(['b']);
    // a comes back: it is a follower now and runs nothing.
    expect((await a.runOnce()).kind).toBe('follower');
    expect(ranBy).toEqual(['b']);

    // The condition ends: the one alert resolves once, whoever evaluates.
    condition = false;
    // Past the rule's interval (100 ms), so b's next evaluation runs it.
    await sleep(150);
    await b.runOnce();
    await a.runOnce();
    const [resolved] = await store.database.db.select().from(alertsTable);
    expect(resolved).toMatchObject({ fingerprint: 'test:condition', state: 'resolved', resolvedBy: 'system:cleared' });
    expect(await store.database.db.select().from(alertsTable)).toHaveLength(1);

    // b stops cleanly: it releases the lock, so a leads at its very next evaluation.
    await b.stop();
    expect((await a.runOnce()).kind).toBe('leader');
    await a.stop();
  });

  it("takes the lock on the gateway's shared auto-pipelining client while other commands are in flight (a late defineCommand crashed the process)", async () => {
    const shared = new Redis(redisUrl, { enableAutoPipelining: true });
    redis.push(shared);
    await shared.ping();
    // A command in this tick opens the tick's auto-pipeline before the lock exists.
    const before = shared.get(`${prefix}:other`);
    const lock = createRedisLeaderLock(shared, `${prefix}shared:`, ttlMs, 'shared');
    const held = lock.hold();
    const after = shared.get(`${prefix}:other`);
    expect(await before).toBeNull();
    expect((await held).kind).toBe('leader');
    expect(await after).toBeNull();
    await lock.release();
  });

  it('embedded, the process always evaluates', async () => {
    const state = await createProcessLeaderLock().hold();
    expect(state).toMatchObject({ kind: 'leader', token: 1 });
  });
});

describe.skipIf(!ready)('alert evaluator leadership on Postgres alone', () => {
  it('has one holder; the other takes over when the holder releases or its session is killed, with a larger token', async () => {
    const database = await createTestDatabase('alert_leader_pg');
    const a = createPostgresLeaderLock(database.url, ttlMs, 'a');
    const b = createPostgresLeaderLock(database.url, ttlMs, 'b');
    try {
      const first = await a.hold();
      expect(first.kind).toBe('leader');
      expect((await b.hold()).kind).toBe('follower');
      expect(await a.hold()).toMatchObject({ kind: 'leader', token: (first as { token: number }).token });
      await a.release();
      const second = await b.hold();
      expect(second.kind).toBe('leader');
      expect((second as { token: number }).token).toBeGreaterThan((first as { token: number }).token);
      expect((await a.hold()).kind).toBe('follower');

      // b's session dies (as when its process does): Postgres frees the lock, a takes it; b, back on
      // a new session, follows.
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'tollgate-evaluator-b'`);
      await admin.end();
      const third = await a.hold();
      expect(third.kind).toBe('leader');
      expect((third as { token: number }).token).toBeGreaterThan((second as { token: number }).token);
      expect((await b.hold()).kind).toBe('follower');
    } finally {
      await a.release();
      await b.release();
      await database.drop();
    }
  });
});
