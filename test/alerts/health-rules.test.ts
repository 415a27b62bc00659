// The fleet health rule over two replicas' real metric registries published to Redis: one
// replica's 5xx and slow answers, the other's 429s, spend and a nearly full tokenizer queue add
// up to alerts neither replica would raise from its own counters alone; once the window passes
// with no such traffic, each clears.
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts as alertsTable } from '../../drizzle/schema/index.js';
import { startEvaluator } from '../../src/alerts/evaluator.js';
import { fleetHealthRule } from '../../src/alerts/health-rules.js';
import { redisSnapshots, type FleetSnapshots } from '../../src/alerts/health-snapshot.js';
import { createProcessLeaderLock } from '../../src/alerts/leader.js';
import { alertRulesSchema } from '../../src/alerts/rules-config.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';
import { alertsConfig, openAlertDb, startTestAlerts, type AlertDb } from './support.js';

const ready = (await redisAvailable()) && (await postgresAvailable());
const windowMs = 60_000;
const providerOf = (model: string) => (model.startsWith('claude') ? 'anthropic' : 'openai');

describe.skipIf(!ready)('fleet health rule', () => {
  let store: AlertDb;
  let alerts: ReturnType<typeof startTestAlerts>;
  let redis: Redis;
  const prefix = uniquePrefix('health');

  beforeAll(async () => {
    store = await openAlertDb('postgres', 'alert_health');
    alerts = startTestAlerts(store.database, alertsConfig({ enabled: false }));
    redis = new Redis(redisUrl);
  });
  afterAll(async () => {
    await alerts?.stop();
    await store?.drop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
  });

  it('adds up every replica over the window and clears once the window has passed', async () => {
    const replica = (name: string, queued: () => number) => {
      const metrics = createMetrics();
      const snapshots = redisSnapshots(redis, prefix, { registry: metrics.registry, replica: name, providerOf, tokenizer: () => ({ queued: queued(), maxQueue: 256 }) }, 30_000);
      return { metrics, snapshots };
    };
    let queuedOnB = 0;
    const a = replica('a', () => 0);
    const b = replica('b', () => queuedOnB);
    const config = alertRulesSchema.parse({ health: { windowMs, spendMicrosPerWindow: 1_000_000 } }).health;
    const reader: FleetSnapshots = a.snapshots;
    let nowMs = Date.parse('2026-12-02T04:00:00Z');
    const evaluator = startEvaluator({ lock: createProcessLeaderLock(), rules: [{ rule: fleetHealthRule(reader, () => config), intervalMs: 0 }], sink: alerts.sink, intervalMs: 1, logger: pino({ level: 'silent' }), clock: () => nowMs }, false);
    const step = async (ms: number) => {
      nowMs += ms;
      await a.snapshots.publish(nowMs);
      await b.snapshots.publish(nowMs);
      await evaluator.runOnce();
    };
    const active = async () => (await store.database.db.select().from(alertsTable)).filter((r) => r.state === 'firing').map((r) => r.fingerprint).sort();

    // The window's base, then healthy traffic on a alone: nothing fires.
    await step(0);
    a.metrics.requests.inc({ route: 'chat', model: 'gpt-4o', status: '200' }, 30);
    for (let i = 0; i < 30; i++) a.metrics.ttfbSeconds.observe({ provider: 'openai' }, 0.05);
    await step(10_000);
    expect(await active()).toEqual([]);

    // b: 10 answers of 502 after 15 s each; a: 60 requests refused 429 and $5 of spend; b's tokenizer queue at 240 of 256.
    b.metrics.requests.inc({ route: 'chat', model: 'gpt-4o', status: '502' }, 10);
    for (let i = 0; i < 10; i++) b.metrics.ttfbSeconds.observe({ provider: 'openai' }, 15);
    a.metrics.requests.inc({ route: 'chat', model: 'claude-sonnet-4', status: '429' }, 60);
    a.metrics.costMicros.inc({ provider: 'openai', model: 'gpt-4o' }, 5_000_000);
    queuedOnB = 240;
    await step(10_000);
    expect(await active()).toEqual([
      'health:p99_latency:openai',
      'health:rate_limited_spike',
      'health:spend_rate',
      'health:tokenizer_queue',
      'health:upstream_error_rate:openai',
    ]);
    // Neither replica alone: a saw no errors, b's 10 requests are under minRequests (20).
    const figures = async (fingerprint: string) => (await store.database.db.select().from(alertsTable).where(eq(alertsTable.fingerprint, fingerprint)))[0]!.figures;
    expect(await figures('health:upstream_error_rate:openai')).toMatchObject({ provider: 'openai', errors: 10, requests: 40, errorPercent: 25 });
    expect(await figures('health:p99_latency:openai')).toMatchObject({ p99Ms: 30_000, answers: 40 });
    expect(await figures('health:rate_limited_spike')).toMatchObject({ rateLimited: 60, requests: 100 });
    expect(await figures('health:spend_rate')).toMatchObject({ costMicros: 5_000_000 });
    expect(await figures('health:tokenizer_queue')).toMatchObject({ replicas: [{ replica: 'b', queued: 240, maxQueue: 256 }] });

    // Quiet for a whole window: every condition clears.
    queuedOnB = 0;
    await step(windowMs + 1_000);
    await step(5_000);
    expect(await active()).toEqual([]);
    await evaluator.stop();
  });
});
