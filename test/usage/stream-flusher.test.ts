// The Redis Stream → Postgres flusher against real Redis and real Postgres.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { usageSchema, type UsageConfigInput } from '../../src/usage/config.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { isLagging } from '../../src/usage/lag.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { createStreamFlusher, type StreamFlusher } from '../../src/usage/stream-flusher.js';
import { usageStreamKey } from '../../src/usage/streams.js';
import { createPostgresDatabase, createTestRedis, deleteKeys, expectedTotals, ledgerTotals, makeEvent, postgresAvailable, redisAvailable, waitFor, type TestDatabase } from './support.js';

const ready = (await postgresAvailable()) && (await redisAvailable());
const group = 'flusher';

describe.skipIf(!ready)('usage stream flusher', () => {
  let testDb: TestDatabase;
  let redis: Redis;
  let prefix: string;
  let orgIds: string[];
  let registry: Registry;
  const flushers: StreamFlusher[] = [];

  beforeAll(async () => {
    testDb = await createPostgresDatabase('flusher');
    redis = createTestRedis(7);
  });
  afterAll(async () => {
    redis?.disconnect();
    await testDb?.drop();
  });
  beforeEach(async () => {
    await testDb.database.db.execute(sql`truncate usage_events, usage_rollups_hourly`);
    prefix = `tgtest:flusher:${randomBytes(4).toString('hex')}:`;
    orgIds = ['org-a', 'org-b'];
    registry = new Registry();
  });
  afterEach(async () => {
    await Promise.all(flushers.splice(0).map((f) => f.stop()));
    await deleteKeys(redis, prefix);
  });

  const key = (orgId: string) => usageStreamKey(prefix, orgId);

  function startFlusher(config: UsageConfigInput = {}, consumerName?: string): Promise<StreamFlusher> {
    const flusher = createStreamFlusher({
      redis,
      keyPrefix: prefix,
      database: testDb.database,
      listOrgIds: async () => orgIds,
      config: usageSchema.parse({ flushIntervalMs: 20, monitorIntervalMs: 100, orgRefreshMs: 100, ...config }),
      registry,
      logger: pino({ level: 'silent' }),
      ...(consumerName ? { consumerName } : {}),
    });
    flushers.push(flusher);
    return flusher.start().then(() => flusher);
  }

  async function send(events: readonly UsageEvent[]): Promise<void> {
    const pipeline = redis.pipeline();
    for (const event of events) pipeline.xadd(key(event.orgId), '*', 'e', JSON.stringify(event));
    await pipeline.exec();
  }

  const events = (from: number, to: number, orgId = 'org-a') =>
    Array.from({ length: to - from }, (_, i) => makeEvent(from + i, { orgId, requestId: `${orgId}-${from + i}` }));
  const pendingCount = async (orgId: string) => ((await redis.xpending(key(orgId), group)) as [number])[0];
  const flushedRows = async () => (await ledgerTotals(testDb.database)).events.rows;

  it('writes every org\'s events exactly once, including those sent before it started, and acknowledges them', async () => {
    const sent = [...events(0, 300, 'org-a'), ...events(0, 200, 'org-b')];
    await send(sent.slice(0, 250));
    await startFlusher({ batchSize: 64 });
    await send(sent.slice(250));
    await waitFor(async () => (await flushedRows()) === sent.length, 10_000, 'all events flushed');
    const totals = await ledgerTotals(testDb.database);
    expect(totals.events).toEqual(expectedTotals(sent));
    expect(totals.rollups).toEqual(expectedTotals(sent));
    expect(await pendingCount('org-a')).toBe(0);
    expect(await pendingCount('org-b')).toBe(0);
    expect((await registry.getSingleMetric('tollgate_usage_events_flushed_total')!.get()).values[0]!.value).toBe(sent.length);
  });

  it('starts reading the stream of an org created after it started', async () => {
    await startFlusher();
    orgIds = [...orgIds, 'org-new'];
    await send(events(0, 10, 'org-new'));
    await waitFor(async () => (await flushedRows()) === 10, 5_000, 'the new org flushed');
  });

  it('keeps the unmetered flag of an entry, and reads an entry written without one as metered', async () => {
    const { unmetered: _omitted, ...legacy } = makeEvent(2, { requestId: 'metered' });
    await send([makeEvent(1, { requestId: 'passthrough', unmetered: true }), legacy as UsageEvent]);
    await startFlusher();
    await waitFor(async () => (await flushedRows()) === 2, 5_000, 'both events flushed');
    const result = await testDb.database.db.execute(sql`select request_id, unmetered from usage_events order by request_id`);
    expect((result as unknown as { rows: unknown[] }).rows).toEqual([{ request_id: 'metered', unmetered: false }, { request_id: 'passthrough', unmetered: true }]);
  });

  it('rewrites a dead consumer\'s committed but unacknowledged batch without counting it twice', async () => {
    const sent = events(0, 120);
    await send(sent);
    // The dead replica read 80 entries and committed them, then died before XACK.
    await redis.xgroup('CREATE', key('org-a'), group, '0', 'MKSTREAM');
    const read = (await redis.xreadgroup('GROUP', group, 'dead', 'COUNT', 80, 'STREAMS', key('org-a'), '>')) as Array<[string, Array<[string, string[]]>]>;
    await writeUsageEvents(testDb.database.db, read[0]![1].map(([, fields]) => JSON.parse(fields[1]!) as UsageEvent));
    await startFlusher({ claimIdleMs: 200 });
    await waitFor(async () => (await pendingCount('org-a')) === 0 && (await flushedRows()) === 120, 10_000, 'claimed and flushed');
    const totals = await ledgerTotals(testDb.database);
    expect(totals.events).toEqual(expectedTotals(sent));
    expect(totals.rollups).toEqual(expectedTotals(sent));
    expect((await registry.getSingleMetric('tollgate_usage_events_claimed_total')!.get()).values[0]!.value).toBe(80);
    expect((await registry.getSingleMetric('tollgate_usage_events_duplicate_total')!.get()).values[0]!.value).toBe(80);
  });

  it('moves malformed and refused entries to the dead-letter stream and flushes the rest', async () => {
    await send(events(0, 5));
    await redis.xadd(key('org-a'), '*', 'e', '{not json');
    await redis.xadd(key('org-a'), '*', 'other', 'field');
    await redis.xadd(key('org-a'), '*', 'e', JSON.stringify({ ...makeEvent(99), teamId: 7 }));
    await send([makeEvent(100, { requestId: 'nul', model: 'gpt\u0000' }), ...events(5, 10)]);
    await startFlusher();
    await waitFor(async () => (await flushedRows()) === 10 && (await pendingCount('org-a')) === 0, 5_000, 'flushed around the bad entries');
    const dead = await redis.xrange(`${key('org-a')}:dead`, '-', '+');
    expect(dead.map(([, fields]) => fields[fields.indexOf('reason') + 1]!.split(':')[0])).toEqual(['invalid', 'invalid', 'invalid', 'refused']);
  });

  it('writes every event of an entry that holds a batch, dead-letters a bad one alone, and acknowledges the entry once', async () => {
    const sent = events(0, 300);
    // As a slice flush or an append writes them: one entry per batch, one `e` field per event.
    for (let i = 0; i < sent.length; i += 100) {
      const fields = sent.slice(i, i + 100).flatMap((e) => ['e', JSON.stringify(e)]);
      if (i === 100) fields.push('e', '{not json', 'e', JSON.stringify(makeEvent(999, { requestId: 'nul', model: 'gpt\u0000' })));
      await redis.xadd(key('org-a'), '*', ...fields);
    }
    await startFlusher({ batchSize: 64 });
    await waitFor(async () => (await flushedRows()) === sent.length && (await pendingCount('org-a')) === 0, 10_000, 'all batched events flushed');
    const totals = await ledgerTotals(testDb.database);
    expect(totals.events).toEqual(expectedTotals(sent));
    expect(totals.rollups).toEqual(expectedTotals(sent));
    const dead = await redis.xrange(`${key('org-a')}:dead`, '-', '+');
    expect(dead.map(([, fields]) => fields[fields.indexOf('reason') + 1]!.split(':')[0])).toEqual(['invalid', 'refused']);
    expect((await registry.getSingleMetric('tollgate_usage_events_flushed_total')!.get()).values[0]!.value).toBe(sent.length);
  });

  it('trims acknowledged entries but keeps unacknowledged ones, and reports their age as lag', async () => {
    await send(events(0, 600));
    const first = await startFlusher();
    await waitFor(async () => (await flushedRows()) === 600, 10_000, 'first 600 flushed');
    await first.stop();
    // Another consumer holds 10 entries without acknowledging them.
    await send(events(600, 610));
    await redis.xreadgroup('GROUP', group, 'slow', 'COUNT', 10, 'STREAMS', key('org-a'), '>');
    const held = await redis.xpending(key('org-a'), group, '-', '+', 10);
    await send(events(610, 1000));
    const flusher = await startFlusher();
    await waitFor(async () => (await flushedRows()) === 990, 10_000, 'later entries flushed');
    await waitFor(async () => (await redis.xlen(key('org-a'))) <= 500, 5_000, 'acknowledged entries trimmed');
    const heldIds = (held as Array<[string]>).map(([id]) => id);
    expect((await redis.xrange(key('org-a'), heldIds[0]!, heldIds[9]!)).map(([id]) => id)).toEqual(heldIds);
    await waitFor(() => flusher.lag().oldestPendingMs > 0, 5_000, 'lag measured');
    expect(flusher.lag().streamLength).toBeGreaterThanOrEqual(400);
  });

  it('reports the age of the oldest unflushed event, and no lag once caught up', async () => {
    await redis.xadd(key('org-a'), `${Date.now() - 90_000}-0`, 'e', JSON.stringify(makeEvent(1)));
    const flusher = await startFlusher({ maxLagMs: 60_000 });
    expect(flusher.lag().oldestPendingMs).toBeGreaterThanOrEqual(90_000);
    expect(isLagging(flusher.lag(), { maxLagMs: 60_000 })).toBe(true);
    await waitFor(() => flusher.lag().oldestPendingMs === 0, 5_000, 'lag back to zero');
    expect(isLagging(flusher.lag(), { maxLagMs: 60_000 })).toBe(false);
  });

  it('loses nothing when stopped mid-backlog: the rest is flushed by the next replica', async () => {
    const sent = events(0, 3000);
    await send(sent);
    const first = await startFlusher({ batchSize: 100 });
    await first.stop();
    const afterStop = await flushedRows();
    expect(afterStop).toBeLessThan(sent.length);
    await startFlusher({ batchSize: 500, claimIdleMs: 100 });
    await waitFor(async () => (await flushedRows()) === sent.length && (await pendingCount('org-a')) === 0, 10_000, 'the rest flushed');
    expect((await ledgerTotals(testDb.database)).rollups).toEqual(expectedTotals(sent));
  });
});
