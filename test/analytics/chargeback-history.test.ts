// Chargeback follows who paid when the money was spent: editing a user's or a team's department or
// cost center or label (through the admin API's function or CSV import) leaves last month's report and
// usage query as they were, and a change made inside a period splits that period at the next whole
// UTC hour, each side reconciling with usage_events. A change is moved back in time by rewriting
// its chargeback_history row, as an injected clock would. On PGlite and on Postgres.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chargebackHistory, orgs } from '../../drizzle/schema/index.js';
import { type ChargebackDimension, queryChargebackUsage } from '../../src/analytics/chargeback-usage.js';
import { addDays } from '../../src/analytics/days.js';
import { buildReport, type Ranked } from '../../src/analytics/report-data.js';
import { importChargebackCsv, setChargeback } from '../../src/control/chargeback.js';
import { createTeam } from '../../src/control/teams.js';
import { createUser } from '../../src/control/users.js';
import { everything } from '../../src/control/visibility.js';
import type { Db } from '../../src/db/database.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { setupChange } from '../admin/support.js';
import { createPgliteDatabase, createPostgresDatabase, makeEvent, postgresAvailable, type TestDatabase } from '../usage/support.js';

const now = new Date();
const lastMonthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 10);
const lastMonthEnd = addDays(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().slice(0, 10), -1);
const midMonth = `${lastMonthStart.slice(0, 8)}15T00:00:00.000Z`;
const longAgo = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1));

const backends: Array<[string, () => Promise<TestDatabase>]> = [
  ['PGlite', createPgliteDatabase],
  ...((await postgresAvailable()) ? [['Postgres', () => createPostgresDatabase('chargeback_history')] as [string, () => Promise<TestDatabase>]] : []),
];

const allow = { mayChange: async () => undefined };
const byName = (ranked: Ranked) => Object.fromEntries(ranked.top.map((l) => [l.name, l.costMicros]));

describe.each(backends)('chargeback as of the spend, on %s', (_name, create) => {
  let test: TestDatabase;
  let db: Db;
  let orgId: string;
  let alice: string;
  let bob: string;
  let sales: string;

  async function ledgerCost(userId: string, fromIso: string, toIso: string): Promise<number> {
    const result = (await db.execute(
      sql`select coalesce(sum(cost_micros), 0)::bigint as cost from usage_events where org_id = ${orgId} and user_id = ${userId} and time >= ${fromIso}::timestamptz and time < ${toIso}::timestamptz`,
    )) as unknown as { rows: Array<{ cost: string }> };
    return Number(result.rows[0]!.cost);
  }
  const monthFrom = `${lastMonthStart}T00:00:00Z`;
  const monthTo = `${addDays(lastMonthEnd, 1)}T00:00:00Z`;

  const report = () => buildReport(db, everything, { orgId, from: lastMonthStart, to: lastMonthEnd, tz: 'UTC', top: 10, nowMs: Date.now() });
  const usageBy = (tz: string, chargeback: ChargebackDimension[]) =>
    queryChargebackUsage(db, everything, { from: lastMonthStart, to: lastMonthEnd, tz, filters: { org: [orgId] }, source: 'auto', limit: 1_000, dimensions: [], bucket: 'day', chargeback, chargebackFilters: {} });
  const usageByCostCenter = (tz: string) => usageBy(tz, ['cost_center']);
  const costBy = async (dimension: ChargebackDimension) => {
    const sums: Record<string, number> = {};
    for (const row of (await usageBy('UTC', [dimension])).rows) sums[String(row[dimension])] = (sums[String(row[dimension])] ?? 0) + row.costMicros;
    return sums;
  };

  beforeAll(async () => {
    test = await create();
    db = test.database.db;
    orgId = 'org_cbh';
    await db.insert(orgs).values({ id: orgId, name: 'history' });
    const research = (await createTeam(db, setupChange, { orgId, name: 'research' })).id;
    sales = (await createTeam(db, setupChange, { orgId, name: 'sales' })).id;
    alice = (await createUser(db, setupChange, { orgId, name: 'alice', teamId: research })).id;
    bob = (await createUser(db, setupChange, { orgId, name: 'bob', teamId: sales })).id;
    // Set three months ago: alice pays from CC-1 herself, bob through his team's CC-2.
    await setChargeback(db, setupChange, 'user', alice, { department: 'Research', costCenter: 'CC-1', labels: { env: 'prod' } });
    await setChargeback(db, setupChange, 'team', sales, { costCenter: 'CC-2', labels: { env: 'dev' } });
    await db.update(chargebackHistory).set({ validUntil: longAgo });
    // Last month: each of them four requests a day, at 01:10, 07:10, 13:10 and 19:10 UTC.
    const events: UsageEvent[] = [];
    for (let day = lastMonthStart, n = 0; day <= lastMonthEnd; day = addDays(day, 1)) {
      for (const hour of [1, 7, 13, 19]) {
        for (const [userId, teamId] of [[alice, research], [bob, sales]] as const) {
          events.push(makeEvent(n, { requestId: `cbh-${n}`, timeMs: Date.parse(`${day}T00:00:00Z`) + hour * 3_600_000 + 600_000, orgId, userId, teamId, keyId: `key_${userId}`, costMicros: 10_000 + n, tags: {} }));
          n++;
        }
      }
    }
    expect((await writeUsageEvents(db, events)).rejected).toEqual([]);
  }, 120_000);

  afterAll(async () => {
    await test?.drop();
  });

  it('leaves last month\'s report and usage unchanged when the metadata is edited now (API and CSV)', async () => {
    const before = await report();
    const aliceCost = await ledgerCost(alice, monthFrom, monthTo);
    const bobCost = await ledgerCost(bob, monthFrom, monthTo);
    expect(byName(before.byCostCenter)).toEqual({ 'CC-1': aliceCost, 'CC-2': bobCost });
    const usageBefore = await usageByCostCenter('UTC');
    const envBefore = await costBy('label:env');
    expect(envBefore).toEqual({ prod: aliceCost, dev: bobCost });

    await setChargeback(db, setupChange, 'user', alice, { costCenter: 'CC-9', department: 'Finance', labels: { env: 'staging' } });
    const imported = await importChargebackCsv(db, setupChange, orgId, 'type,name,cost_center\nteam,sales,CC-8', allow);
    expect(imported.map((r) => r.status)).toEqual(['updated']);

    const after = await report();
    expect(after.byCostCenter).toEqual(before.byCostCenter);
    expect(after.byDepartment).toEqual(before.byDepartment);
    expect(byName(after.byDepartment)).toEqual({ Research: aliceCost, '(no department)': bobCost });
    expect(await usageByCostCenter('UTC')).toEqual(usageBefore);
    expect(await costBy('label:env')).toEqual(envBefore);
  });

  it('splits a period at the hour a change took effect, each side exact against the ledger', async () => {
    // The edits above, moved back to take effect on the 15th of last month at 00:00 UTC.
    await db.update(chargebackHistory).set({ validUntil: new Date(midMonth) }).where(sql`${chargebackHistory.validUntil} > ${longAgo}`);
    const expected = {
      'CC-1': await ledgerCost(alice, monthFrom, midMonth),
      'CC-9': await ledgerCost(alice, midMonth, monthTo),
      'CC-2': await ledgerCost(bob, monthFrom, midMonth),
      'CC-8': await ledgerCost(bob, midMonth, monthTo),
    };
    const r = await report();
    expect(byName(r.byCostCenter)).toEqual(expected);
    expect(r.byCostCenter.top.reduce((s, l) => s + l.costMicros, 0)).toBe(r.totals.costMicros);
    expect(byName(r.byDepartment)).toEqual({ Research: expected['CC-1'], Finance: expected['CC-9'], '(no department)': expected['CC-2'] + expected['CC-8'] });
    // bob's label is his team's, which the import did not touch.
    expect(await costBy('label:env')).toEqual({ prod: expected['CC-1'], staging: expected['CC-9'], dev: expected['CC-2'] + expected['CC-8'] });

    // In Kolkata the change lands at 05:30 on the 15th: that local day holds both cost centers.
    const kolkata = await usageByCostCenter('Asia/Kolkata');
    const sums = new Map<string, number>();
    for (const row of kolkata.rows) sums.set(row.cost_center!, (sums.get(row.cost_center!) ?? 0) + row.costMicros);
    const kolkataFrom = new Date(Date.parse(monthFrom) - 19_800_000).toISOString();
    const kolkataTo = new Date(Date.parse(monthTo) - 19_800_000).toISOString();
    expect(Object.fromEntries(sums)).toEqual({
      'CC-1': await ledgerCost(alice, kolkataFrom, midMonth),
      'CC-9': await ledgerCost(alice, midMonth, kolkataTo),
      'CC-2': await ledgerCost(bob, kolkataFrom, midMonth),
      'CC-8': await ledgerCost(bob, midMonth, kolkataTo),
    });
    const fifteenth = kolkata.rows.filter((row) => row.bucket!.startsWith(midMonth.slice(0, 10)));
    expect(fifteenth.map((row) => row.cost_center).sort()).toEqual(['CC-1', 'CC-2', 'CC-8', 'CC-9']);
    expect(kolkata.totals.costMicros).toBe([...sums.values()].reduce((a, b) => a + b, 0));
  });
});
