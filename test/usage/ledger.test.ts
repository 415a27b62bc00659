// The ledger contract: the same suite runs on embedded PGlite and on real Postgres.
import { eq, sql } from 'drizzle-orm';
import { orgs } from '../../drizzle/schema/identity.js';
import { usageEvents, usageRollupsHourly } from '../../drizzle/schema/usage.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { rollupTables } from '../../src/usage/rollup-tables.js';
import { orgIdsFrom } from '../../src/usage/org-ids.js';
import { createPgliteDatabase, createPostgresDatabase, expectedTotals, ledgerTotals, makeEvent, postgresAvailable, type TestDatabase } from './support.js';

const hasPostgres = await postgresAvailable();

const backends: Array<{ name: string; skip: boolean; open: () => Promise<TestDatabase> }> = [
  { name: 'pglite', skip: false, open: createPgliteDatabase },
  { name: 'postgres', skip: !hasPostgres, open: () => createPostgresDatabase('ledger') },
];

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => makeEvent(from + i));

async function rows(database: Database, query: ReturnType<typeof sql>): Promise<Array<Record<string, unknown>>> {
  return ((await database.db.execute(query)) as unknown as { rows: Array<Record<string, unknown>> }).rows;
}

for (const backend of backends) {
  describe.skipIf(backend.skip)(`usage ledger on ${backend.name}`, () => {
    let testDb: TestDatabase;
    let database: Database;

    beforeAll(async () => {
      testDb = await backend.open();
      database = testDb.database;
    });
    afterAll(() => testDb?.drop());
    beforeEach(async () => {
      await database.db.execute(sql`truncate usage_events, usage_rollups_hourly`);
    });

    it('stores every field of an event', async () => {
      const event = makeEvent(6, { sessionId: 'sess-x', ttfbMs: 42, estimated: true, unmetered: true, maxTokensUnstated: true, errorCode: 'upstream_error', status: 502 });
      await writeUsageEvents(database.db, [event]);
      const [row] = await database.db.select().from(usageEvents);
      const { timeMs, ...fields } = event;
      expect(row).toEqual({ ...fields, time: new Date(timeMs) });
    });

    it('stores the unmetered flag of a pass-through call, and false for an event that does not set it', async () => {
      const { unmetered: _omitted, ...legacy } = makeEvent(2);
      await writeUsageEvents(database.db, [makeEvent(1, { unmetered: true, model: 'files', promptTokens: 0, completionTokens: 0, costMicros: 0 }), legacy]);
      const flags = await database.db.select({ requestId: usageEvents.requestId, unmetered: usageEvents.unmetered }).from(usageEvents).orderBy(usageEvents.requestId);
      expect(flags).toEqual([{ requestId: 'req-1', unmetered: true }, { requestId: 'req-2', unmetered: false }]);
    });

    it('counts requests that stated no max_tokens, and the output they used, in every rollup table; an event without the flag stores false', async () => {
      const { maxTokensUnstated: _omitted, ...legacy } = makeEvent(3, { orgId: 'org-cap', completionTokens: 1_000 });
      await writeUsageEvents(database.db, [
        makeEvent(1, { orgId: 'org-cap', maxTokensUnstated: true, completionTokens: 70 }),
        makeEvent(2, { orgId: 'org-cap', maxTokensUnstated: true, completionTokens: 30 }),
        legacy,
      ]);
      const flags = await database.db.select({ requestId: usageEvents.requestId, flag: usageEvents.maxTokensUnstated }).from(usageEvents).where(eq(usageEvents.orgId, 'org-cap')).orderBy(usageEvents.requestId);
      expect(flags).toEqual([{ requestId: 'req-1', flag: true }, { requestId: 'req-2', flag: true }, { requestId: 'req-3', flag: false }]);
      for (const { table } of rollupTables) {
        const [sums] = await rows(database, sql`select sum(requests)::int as requests, sum(max_tokens_unstated_requests)::int as unstated, sum(max_tokens_unstated_output_tokens)::int as output
          from ${sql.identifier(table)} where org_id = 'org-cap'`);
        expect({ table, ...sums }).toEqual({ table, requests: 3, unstated: 2, output: 100 });
      }
    });

    it('adds a redelivered batch neither to the events nor to the rollups', async () => {
      expect((await writeUsageEvents(database.db, range(0, 100))).inserted).toBe(100);
      // The crash-between-commit-and-XACK case: the same batch again, plus new events.
      expect((await writeUsageEvents(database.db, range(50, 150))).inserted).toBe(50);
      expect((await writeUsageEvents(database.db, range(0, 150))).inserted).toBe(0);
      const totals = await ledgerTotals(database);
      expect(totals.events).toEqual(expectedTotals(range(0, 150)));
      expect(totals.rollups).toEqual(expectedTotals(range(0, 150)));
    });

    it('counts an event repeated inside one batch once', async () => {
      const result = await writeUsageEvents(database.db, [makeEvent(1), makeEvent(1), makeEvent(2)]);
      expect(result.inserted).toBe(2);
      const totals = await ledgerTotals(database);
      expect(totals.rollups).toEqual(expectedTotals([makeEvent(1), makeEvent(2)]));
    });

    it('keeps rollups exact when overlapping batches are written concurrently', async () => {
      await Promise.all([0, 1, 2, 3].map((i) => writeUsageEvents(database.db, range(i * 30, i * 30 + 90))));
      const totals = await ledgerTotals(database);
      expect(totals.events).toEqual(expectedTotals(range(0, 180)));
      expect(totals.rollups).toEqual(expectedTotals(range(0, 180)));
    });

    it('rolls up by UTC hour, org, team, user, key, provider and model, with no-team events in one row and unmetered calls counted apart', async () => {
      const hour = Date.UTC(2025, 0, 1, 10);
      const base = { orgId: 'org-r', teamId: null, userId: 'u', keyId: 'k', provider: 'openai', model: 'm', status: 200, errorCode: null, estimated: false };
      await writeUsageEvents(database.db, [
        makeEvent(1, { ...base, timeMs: hour }),
        makeEvent(2, { ...base, timeMs: hour + 3_599_999 }),
        makeEvent(3, { ...base, timeMs: hour + 3_600_000 }),
        makeEvent(4, { ...base, timeMs: hour + 10, status: 429, errorCode: 'budget_exceeded', estimated: true }),
        makeEvent(5, { ...base, timeMs: hour + 20, unmetered: true }),
      ]);
      const result = await database.db
        .select({ hour: usageRollupsHourly.hour, teamId: usageRollupsHourly.teamId, requests: usageRollupsHourly.requests,
          errorRequests: usageRollupsHourly.errorRequests, estimatedRequests: usageRollupsHourly.estimatedRequests,
          unmeteredRequests: usageRollupsHourly.unmeteredRequests })
        .from(usageRollupsHourly)
        .where(eq(usageRollupsHourly.orgId, 'org-r'))
        .orderBy(usageRollupsHourly.hour);
      expect(result).toEqual([
        // A pass-through call is a request (rollups add up to the events) and is counted apart.
        { hour: new Date(hour), teamId: null, requests: 4, errorRequests: 1, estimatedRequests: 1, unmeteredRequests: 1 },
        { hour: new Date(hour + 3_600_000), teamId: null, requests: 1, errorRequests: 0, estimatedRequests: 0, unmeteredRequests: 0 },
      ]);
    });

    it('writes the rest of a batch and reports the events Postgres refuses', async () => {
      const bad = makeEvent(7, { model: 'gpt\u0000evil' });
      const tooLarge = makeEvent(8, { status: 2 ** 40 });
      const result = await writeUsageEvents(database.db, [...range(0, 7), bad, tooLarge, ...range(9, 20)]);
      expect(result.inserted).toBe(18);
      expect(result.rejected.map((r) => r.event.requestId).sort()).toEqual(['req-7', 'req-8']);
      expect((await ledgerTotals(database)).rollups).toEqual(expectedTotals([...range(0, 7), ...range(9, 20)]));
    });

    it('lists the org ids the flusher reads streams for', async () => {
      await database.db.insert(orgs).values([{ id: 'org-x', name: 'X' }, { id: 'org-y', name: 'Y' }]).onConflictDoNothing();
      expect((await orgIdsFrom(database)()).sort()).toEqual(['org-x', 'org-y']);
    });

    it('serves a time-ranged scan of one org from an index', async () => {
      await database.db.execute(sql`set enable_seqscan = off`);
      const plan = await rows(database, sql`explain select sum(cost_micros) from usage_events
        where org_id = 'org-a' and time >= now() - interval '7 days'`);
      await database.db.execute(sql`set enable_seqscan = on`);
      // Each monthly partition has its copy of usage_events_org_time_idx, named by Postgres.
      expect(plan.map((r) => Object.values(r)[0]).join('\n')).toMatch(/Index Scan using usage_events_\d{4}_\d{2}_org_id_time_idx/);
    });
  });
}
