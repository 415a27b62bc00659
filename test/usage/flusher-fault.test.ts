// Faults the usage pipeline must survive without losing or double counting an event: Postgres
// stopped for 20 s under steady load (on a throwaway Postgres server this file owns), and a
// replica killed between commit and XACK.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageSchema, type UsageConfigInput } from '../../src/usage/config.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { createStreamFlusher, type StreamFlusher } from '../../src/usage/stream-flusher.js';
import { usageStreamKey } from '../../src/usage/streams.js';
import { createOwnPostgres, ownPostgresProblem, type OwnPostgres } from '../helpers/own-postgres.js';
import {
  createPostgresDatabase, createTestRedis, deleteKeys, expectedTotals, ledgerTotals, makeEvent, postgresAvailable,
  redisAvailable, redisUrl, serviceAvailable, waitFor, type TestDatabase,
} from './support.js';
import { createPartitions, monthOf } from '../../src/usage/partitions.js';

const redisDb = 8;
const group = 'flusher';
const hasServices = (await postgresAvailable()) && (await redisAvailable());
const canRunOwnPostgres =
  hasServices &&
  (await serviceAvailable('a throwaway Postgres server (initdb, pg_ctl, runuser)', async () => {
    const problem = ownPostgresProblem();
    if (problem) throw new Error(problem);
  }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function createHarness(database: () => TestDatabase, redis: () => Redis) {
  const prefix = `tgtest:fault:${randomBytes(4).toString('hex')}:`;
  const registry = new Registry();
  const flushers: StreamFlusher[] = [];
  return {
    prefix,
    registry,
    key: (orgId: string) => usageStreamKey(prefix, orgId),
    async startFlusher(orgIds: string[], config: UsageConfigInput): Promise<StreamFlusher> {
      const flusher = createStreamFlusher({
        redis: redis(),
        keyPrefix: prefix,
        database: database().database,
        listOrgIds: async () => orgIds,
        config: usageSchema.parse({ flushIntervalMs: 20, monitorIntervalMs: 500, ...config }),
        registry,
        logger: pino({ level: 'silent' }),
      });
      flushers.push(flusher);
      await flusher.start();
      return flusher;
    },
    async send(events: readonly UsageEvent[]) {
      const pipeline = redis().pipeline();
      for (const event of events) pipeline.xadd(usageStreamKey(prefix, event.orgId), '*', 'e', JSON.stringify(event));
      await pipeline.exec();
    },
    async cleanup() {
      await Promise.all(flushers.splice(0).map((f) => f.stop()));
      await deleteKeys(redis(), prefix);
    },
  };
}

describe.skipIf(!canRunOwnPostgres)('usage pipeline with Postgres stopped under load', () => {
  let own: OwnPostgres;
  let testDb: TestDatabase;
  let redis: Redis;
  let harness: ReturnType<typeof createHarness>;

  beforeAll(async () => {
    own = await createOwnPostgres();
    testDb = await createPostgresDatabase('fault', own.adminUrl);
    redis = createTestRedis(redisDb);
    harness = createHarness(() => testDb, () => redis);
  });
  afterAll(async () => {
    await harness?.cleanup();
    redis?.disconnect();
    await testDb?.database.close().catch(() => {});
    own?.destroy();
  });

  it('lands every event exactly once when Postgres is down for 20 seconds', { timeout: 120_000 }, async () => {
    const orgIds = ['org-a', 'org-b', 'org-c'];
    const config = { batchSize: 200, claimIdleMs: 5_000, retryMaxMs: 1_000 };
    // Two replicas; during the outage they also claim each other's stuck batches.
    const replicas = [await harness.startFlusher(orgIds, config), await harness.startFlusher(orgIds, config)];
    const sent: UsageEvent[] = [];
    const started = Date.now();
    let lagDuringOutageMs = 0;
    const load = (async () => {
      // About 1,000 events a second for 30 seconds, across three orgs.
      for (let n = 0; Date.now() - started < 30_000; n += 50) {
        const events = Array.from({ length: 50 }, (_, i) => makeEvent(n + i, { orgId: orgIds[(n + i) % 3]!, requestId: `r-${n + i}` }));
        sent.push(...events);
        await harness.send(events);
        await sleep(50);
      }
    })();
    await sleep(4_000);
    own.stop();
    await sleep(20_000);
    lagDuringOutageMs = replicas[0]!.lag().oldestPendingMs;
    own.start();
    await load;
    await waitFor(async () => (await ledgerTotals(testDb.database)).events.rows >= sent.length, 60_000, 'backlog flushed');
    await sleep(500);
    const totals = await ledgerTotals(testDb.database);
    expect(totals.events).toEqual(expectedTotals(sent));
    expect(totals.rollups).toEqual(expectedTotals(sent));
    expect(lagDuringOutageMs).toBeGreaterThan(15_000);
    for (const orgId of orgIds) {
      expect(((await redis.xpending(harness.key(orgId), group)) as [number])[0]).toBe(0);
    }
  });
});

describe.skipIf(!hasServices)('usage flusher killed between commit and XACK', () => {
  let testDb: TestDatabase;
  let redis: Redis;
  let harness: ReturnType<typeof createHarness>;

  beforeAll(async () => {
    testDb = await createPostgresDatabase('kill');
    redis = createTestRedis(redisDb);
    harness = createHarness(() => testDb, () => redis);
  });
  afterAll(async () => {
    await harness?.cleanup();
    redis?.disconnect();
    await testDb?.drop();
  });

  it('leaves no duplicate rows and exact rollups after another replica claims the batch', async () => {
    const sent = Array.from({ length: 500 }, (_, n) => makeEvent(n));
    // The doomed replica dies after its first statement: that must be the batch's insert, not the
    // creation of the (old) month the events fall in.
    await createPartitions(testDb.database.db, sent.map((e) => monthOf(e.timeMs)));
    await harness.send(sent);
    const child = spawn(process.execPath, ['--import', fileURLToPath(new URL('../../bin/typescript.js', import.meta.url)), fileURLToPath(new URL('./fixtures/crashing-flusher.ts', import.meta.url))], {
      env: { ...process.env, REDIS_URL: redisUrl, REDIS_DB: String(redisDb), KEY_PREFIX: harness.prefix, DATABASE_URL: testDb.url, ORG_IDS: 'org-a', BATCH_SIZE: '200' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, s) => resolve(s)));
    expect(signal).toBe('SIGKILL');
    // The dead replica's batch is committed but still pending in Redis. Its size is the entries
    // one read takes (a fraction of BATCH_SIZE, since entries may carry many events; these carry one).
    const committed = (await ledgerTotals(testDb.database)).events.rows;
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(500);
    expect(((await redis.xpending(harness.key('org-a'), group)) as [number])[0]).toBe(committed);

    await harness.startFlusher(['org-a'], { claimIdleMs: 300 });
    await waitFor(async () => ((await redis.xpending(harness.key('org-a'), group)) as [number])[0] === 0 && (await ledgerTotals(testDb.database)).events.rows === 500, 10_000, 'claimed and flushed');
    const totals = await ledgerTotals(testDb.database);
    expect(totals.events).toEqual(expectedTotals(sent));
    expect(totals.rollups).toEqual(expectedTotals(sent));
    expect((await harness.registry.getSingleMetric('tollgate_usage_events_duplicate_total')!.get()).values[0]!.value).toBe(committed);
  });
});
