// Embedded mode: the in-process usage queue into PGlite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { createEmbeddedUsageQueue, type EmbeddedUsageQueue, type EmbeddedUsageQueueOptions } from '../../src/usage/embedded-queue.js';
import { createPgliteDatabase, expectedTotals, ledgerTotals, makeEvent, waitFor, type TestDatabase } from './support.js';

describe('embedded usage queue', () => {
  let testDb: TestDatabase;
  let registry: Registry;
  let logLines: string[];
  const queues: EmbeddedUsageQueue[] = [];

  beforeAll(async () => {
    testDb = await createPgliteDatabase();
  });
  afterAll(() => testDb?.drop());
  beforeEach(async () => {
    await testDb.database.db.execute(sql`truncate usage_events, usage_rollups_hourly`);
    registry = new Registry();
    logLines = [];
  });
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.close().catch(() => {})));
  });

  function createQueue(options: Partial<EmbeddedUsageQueueOptions> = {}): EmbeddedUsageQueue {
    const queue = createEmbeddedUsageQueue({
      database: testDb.database,
      batchSize: 100,
      flushIntervalMs: 60_000,
      maxQueue: 10_000,
      registry,
      logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
      ...options,
    });
    queues.push(queue);
    return queue;
  }

  const rows = async () => (await ledgerTotals(testDb.database)).events.rows;
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    (await registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;

  it('writes a full batch without waiting for the interval', async () => {
    const queue = createQueue({ batchSize: 10 });
    for (let n = 0; n < 10; n++) queue.push(makeEvent(n));
    await waitFor(async () => (await rows()) === 10, 5_000, 'batch written');
  });

  it('writes a partial batch once the interval passes', async () => {
    const queue = createQueue({ flushIntervalMs: 50 });
    for (let n = 0; n < 3; n++) queue.push(makeEvent(n));
    await waitFor(async () => (await rows()) === 3, 5_000, 'partial batch written');
  });

  it('writes everything still queued on close', async () => {
    const queue = createQueue();
    const events = Array.from({ length: 250 }, (_, n) => makeEvent(n));
    for (const event of events) queue.push(event);
    await queue.close();
    const totals = await ledgerTotals(testDb.database);
    expect(totals.events).toEqual(expectedTotals(events));
    expect(totals.rollups).toEqual(expectedTotals(events));
  });

  it('counts an event pushed twice once, in events and rollups', async () => {
    const queue = createQueue();
    queue.push(makeEvent(1));
    await queue.flush();
    queue.push(makeEvent(1));
    queue.push(makeEvent(2));
    await queue.flush();
    expect((await ledgerTotals(testDb.database)).rollups).toEqual(expectedTotals([makeEvent(1), makeEvent(2)]));
    expect(await metric('tollgate_usage_events_duplicate_total')).toBe(1);
  });

  it('drops events past maxQueue, counting and logging them, and keeps the ones it holds', async () => {
    const queue = createQueue({ maxQueue: 5 });
    for (let n = 0; n < 8; n++) queue.push(makeEvent(n));
    expect(queue.lag().streamLength).toBe(5);
    expect(await metric('tollgate_usage_events_rejected_total', { reason: 'queue_full' })).toBe(3);
    expect(logLines.some((l) => l.includes('usage events dropped'))).toBe(true);
    await queue.flush();
    expect(await rows()).toBe(5);
  });

  it('keeps events queued while the database fails and writes them once it is back', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-usage-queue-'));
    let current: Database = await openDatabase({ dataDir });
    await current.migrate();
    const queue = createQueue({ database: { get db() { return current.db; } } });
    await current.close();
    const events = Array.from({ length: 20 }, (_, n) => makeEvent(n));
    for (const event of events) queue.push(event);
    await expect(queue.flush()).rejects.toThrow();
    expect(queue.lag().streamLength).toBe(20);
    current = await openDatabase({ dataDir });
    await queue.flush();
    expect((await ledgerTotals(current)).rollups).toEqual(expectedTotals(events));
    expect(queue.lag()).toEqual({ streamLength: 0, oldestPendingMs: 0 });
    await current.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
});
