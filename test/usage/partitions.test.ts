// usage_events is partitioned by UTC month: the maintenance task, driven by an injected clock,
// keeps partitions two months ahead and drops whole months past retentionDays while the rollups
// (and so reports) keep their sums until rollupRetentionDays; an event in a month without a
// partition makes it instead of being refused, and redelivery stays exactly-once. Postgres and PGlite.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { maintainUsageLedger } from '../../src/usage/partition-maintenance.js';
import { addMonths, listPartitions, monthsToCreate, partitionsToDrop } from '../../src/usage/partitions.js';
import { rollupTables } from '../../src/usage/rollup-tables.js';
import { createPgliteDatabase, createPostgresDatabase, makeEvent, postgresAvailable, type TestDatabase } from './support.js';

const hasPostgres = await postgresAvailable();
const at = (iso: string) => Date.parse(iso);

describe('partition plan', () => {
  it('names this month and the months ahead, across a year end', () => {
    expect(monthsToCreate(at('2026-12-31T23:59:59.999Z'), 2)).toEqual(['2026-12', '2027-01', '2027-02']);
    expect(addMonths('2027-01', -1)).toEqual('2026-12');
  });

  it('drops a month only once its last day is older than the retention', () => {
    const names = ['usage_events_2026_09', 'usage_events_2026_10', 'usage_events_2026_11', 'usage_events_default', 'other'];
    // October ends 2026-11-01T00:00Z; 30 days later it may go, November may not.
    expect(partitionsToDrop(names, at('2026-12-01T00:00:00Z'), 30)).toEqual(['usage_events_2026_09', 'usage_events_2026_10']);
    expect(partitionsToDrop(names, at('2026-11-30T23:59:59Z'), 30)).toEqual(['usage_events_2026_09']);
  });
});

const backends: Array<{ name: string; skip: boolean; open: () => Promise<TestDatabase> }> = [
  { name: 'Postgres', skip: !hasPostgres, open: () => createPostgresDatabase('partitions') },
  { name: 'PGlite', skip: false, open: createPgliteDatabase },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`usage_events partitions on ${backend.name}`, () => {
    let test: TestDatabase;
    let database: Database;
    const rows = async (query: ReturnType<typeof sql>) => ((await database.db.execute(query)) as unknown as { rows: Array<Record<string, unknown>> }).rows;
    const sums = async () =>
      (await rows(sql`select (select count(*) from usage_events)::int as events, (select coalesce(sum(requests), 0) from usage_rollups_hourly)::int as hourly,
        (select coalesce(sum(requests), 0) from usage_rollups_daily)::int as daily`))[0];

    beforeAll(async () => {
      test = await backend.open();
      database = test.database;
    }, 120_000);
    afterAll(() => test?.drop());

    it('is a partitioned table whose migration made this month and the next two', async () => {
      const [kind] = await rows(sql`select relkind from pg_class where relname = 'usage_events'`);
      expect(kind!.relkind).toBe('p');
      const names = await listPartitions(database.db);
      for (const month of monthsToCreate(Date.now(), 2)) expect(names).toContain(`usage_events_${month.replace('-', '_')}`);
    });

    it('rolls over with the clock, keeps exactly-once writes, and drops whole months past retention while rollups keep the sums', async () => {
      const options = { partitionsAheadMonths: 2, retentionDays: 60, rollupRetentionDays: 400 };
      // The clock sits years ahead of the migration's own months.
      const first = await maintainUsageLedger(database.db, options, at('2030-01-15T12:00:00Z'));
      expect(first.created).toEqual(['usage_events_2030_01', 'usage_events_2030_02', 'usage_events_2030_03']);
      expect(first.dropped.length).toBeGreaterThan(0);
      expect((await maintainUsageLedger(database.db, options, at('2030-01-15T13:00:00Z'))).created).toEqual([]);

      // January and March events land in their partitions; one in 2029-06 (no partition: older than
      // anything made, as a replayed stream could bring) makes its own month.
      const events = [
        makeEvent(1, { timeMs: at('2030-01-31T23:59:59.999Z') }),
        makeEvent(2, { timeMs: at('2030-03-01T00:00:00.000Z') }),
        makeEvent(3, { timeMs: at('2029-06-10T08:00:00.000Z') }),
      ];
      expect(await writeUsageEvents(database.db, events)).toEqual({ inserted: 3, rejected: [] });
      expect(await writeUsageEvents(database.db, events)).toEqual({ inserted: 0, rejected: [] });
      expect(await sums()).toEqual({ events: 3, hourly: 3, daily: 3 });
      const located = await rows(sql`select tableoid::regclass::text as part, request_id from usage_events order by time`);
      expect(located).toEqual([
        { part: 'usage_events_2029_06', request_id: 'req-3' },
        { part: 'usage_events_2030_01', request_id: 'req-1' },
        { part: 'usage_events_2030_03', request_id: 'req-2' },
      ]);

      // 60 days after January ended (2030-04-02) January goes; March stays, and the rollups keep all three.
      const later = await maintainUsageLedger(database.db, options, at('2030-04-02T00:00:00Z'));
      expect(later.dropped).toEqual(expect.arrayContaining(['usage_events_2029_06', 'usage_events_2030_01']));
      expect(later.dropped).not.toContain('usage_events_2030_02');
      expect(later.created).toEqual(['usage_events_2030_04', 'usage_events_2030_05', 'usage_events_2030_06']);
      expect(await sums()).toEqual({ events: 1, hourly: 3, daily: 3 });
      expect((await listPartitions(database.db)).filter((n) => n <= 'usage_events_2030_02')).toEqual(['usage_events_2030_02']);

      // 400 days after the 2029-06 event its rollup rows go (one in each rollup table); the 2030 ones stay.
      const rollupsLater = await maintainUsageLedger(database.db, options, at('2030-07-20T00:00:00Z'));
      expect(rollupsLater.rollupRowsDeleted).toBe(rollupTables.length);
      expect(await sums()).toEqual({ events: 0, hourly: 2, daily: 2 });
    });
  });
}
