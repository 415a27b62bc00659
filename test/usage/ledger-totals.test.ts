// The ledger totals lost budget counters are rebuilt from, on both databases: each scope, each
// measure, the window's bounds, and a team counting every team below it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgs, teams } from '../../drizzle/schema/index.js';
import type { BucketMeasure, BucketPlan, BucketRef } from '../../src/budget/store.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { ledgerTotals } from '../../src/usage/ledger-totals.js';
import { createPgliteDatabase, createPostgresDatabase, makeEvent, postgresAvailable, type TestDatabase } from './support.js';

const postgresUp = await postgresAvailable();

const hour = Date.UTC(2025, 0, 1, 10, 0, 0);
const bucket = (scope: BucketRef['scope'], scopeId: string, measure: BucketMeasure, ledgerFromMs: number): BucketPlan => ({
  ref: { scope, scopeId, metric: measure === 'inflight' ? 'concurrency' : measure, window: 'day' },
  kind: 'counter',
  measure,
  key: `k:${scope}:${scopeId}:${measure}`,
  limit: 1e12,
  clamp: false,
  ttlMs: 0,
  sliding: false,
  warnAt: 1e12,
  criticalAt: 1e12,
  periodMs: 0,
  resetAtMs: null,
  ledgerFromMs,
});

const backends: Array<{ name: string; available: boolean; open: () => Promise<TestDatabase> }> = [
  { name: 'PGlite', available: true, open: createPgliteDatabase },
  { name: 'Postgres', available: postgresUp, open: () => createPostgresDatabase('ledger_totals') },
];

for (const backend of backends) {
  describe.skipIf(!backend.available)(`ledger totals on ${backend.name}`, () => {
    let db: TestDatabase;

    beforeAll(async () => {
      db = await backend.open();
      const d = db.database.db;
      await d.insert(orgs).values([{ id: 'org-a', name: 'a' }, { id: 'org-b', name: 'b' }]);
      // research > ml > vision; sales on its own.
      await d.insert(teams).values([
        { id: 'research', orgId: 'org-a', parentId: null, name: 'research' },
        { id: 'ml', orgId: 'org-a', parentId: 'research', name: 'ml' },
        { id: 'vision', orgId: 'org-a', parentId: 'ml', name: 'vision' },
        { id: 'sales', orgId: 'org-a', parentId: null, name: 'sales' },
      ]);
      const at = (n: number, minutes: number, over: Parameters<typeof makeEvent>[1]) =>
        makeEvent(n, { timeMs: hour + minutes * 60_000, promptTokens: 10 * n, completionTokens: n, costMicros: 100 * n, ...over });
      await writeUsageEvents(d, [
        at(1, 0, { teamId: 'vision', userId: 'u1', keyId: 'k1' }),
        at(2, 5, { teamId: 'ml', userId: 'u1', keyId: 'k2' }),
        at(3, 10, { teamId: 'research', userId: 'u2', keyId: 'k3' }),
        at(4, 15, { teamId: 'sales', userId: 'u3', keyId: 'k4' }),
        // Before the window below, after it, and another org's: never counted.
        at(5, -30, { teamId: 'vision', userId: 'u1', keyId: 'k1' }),
        at(6, 90, { teamId: 'vision', userId: 'u1', keyId: 'k1' }),
        at(7, 0, { orgId: 'org-b', teamId: null, userId: 'u1', keyId: 'k1' }),
        // A pass-through call: its row is in the ledger, but live counters never charged it.
        at(8, 20, { teamId: 'vision', userId: 'u1', keyId: 'k1', unmetered: true }),
      ]);
    });

    afterAll(async () => {
      await db?.drop();
    });

    it('sums each scope and measure over the window, a team with every team below it, skipping unmetered calls', async () => {
      const totals = ledgerTotals(db.database.db);
      const buckets = [
        bucket('key', 'k1', 'tokens', hour),
        bucket('user', 'u1', 'tokens', hour),
        bucket('user', 'u1', 'costMicros', hour),
        bucket('org', 'org-a', 'requests', hour),
        bucket('team', 'research', 'tokens', hour),
        bucket('team', 'ml', 'requests', hour),
        bucket('team', 'sales', 'costMicros', hour),
        bucket('user', 'nobody', 'tokens', hour),
      ];
      expect(await totals('org-a', buckets, hour + 60 * 60_000)).toEqual([
        11, // event 1
        11 + 22, // events 1, 2
        100 + 200,
        4, // events 1-4
        11 + 22 + 33, // vision, ml and research
        2, // vision and ml
        400,
        0,
      ]);
      // The upper bound is the moment of the rebuild.
      expect(await totals('org-a', [bucket('org', 'org-a', 'requests', hour)], hour + 7 * 60_000)).toEqual([2]);
    });
  });
}
