// Analytics findings as alerts: a team spending towards its monthly budget raises one
// projected-exhaustion alert (stored once however often the rule runs, with the run-out day and
// an end at the period's close), and raising the limit clears it with a resolved record.
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts as alertsTable, budgets, teams, users } from '../../drizzle/schema/index.js';
import { analyticsRule } from '../../src/alerts/analytics-rules.js';
import { startEvaluator } from '../../src/alerts/evaluator.js';
import { createProcessLeaderLock } from '../../src/alerts/leader.js';
import { addDays } from '../../src/analytics/days.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { postgresAvailable } from '../helpers/services.js';
import { makeEvent } from '../usage/support.js';
import { alertsConfig, openAlertDb, startTestAlerts, type AlertDb } from './support.js';

const pgUp = await postgresAvailable();
const asOfMs = Date.UTC(2026, 10, 12, 12, 0, 0);

describe.skipIf(!pgUp)('analytics findings as alert rules', () => {
  let store: AlertDb;
  let alerts: ReturnType<typeof startTestAlerts>;

  beforeAll(async () => {
    store = await openAlertDb('postgres', 'alert_analytics');
    alerts = startTestAlerts(store.database, alertsConfig({ enabled: false }));
    const d = store.database.db;
    await d.insert(teams).values({ id: 'team_x', orgId: 'org_a', parentId: null, name: 'x' });
    await d.insert(users).values({ id: 'usr_x', orgId: 'org_a', teamId: 'team_x', name: 'xavier' });
    // $60 a month; $3 a day for three months, so November runs out around the 20th.
    await d.insert(budgets).values({ id: 'bud_x', orgId: 'org_a', scope: 'team', scopeId: 'team_x', metric: 'costMicros', window: 'month', limit: 60_000_000 });
    const events: UsageEvent[] = [];
    let n = 0;
    for (let day = '2026-08-14'; day <= '2026-11-12'; day = addDays(day, 1)) {
      n++;
      events.push(makeEvent(n, { requestId: `r${n}`, timeMs: Date.parse(`${day}T09:00:00Z`), orgId: 'org_a', teamId: 'team_x', userId: 'usr_x', keyId: 'k_x', model: 'gpt-4o', costMicros: 3_000_000, tags: {}, unmetered: false }));
    }
    expect((await writeUsageEvents(d, events)).rejected).toEqual([]);
  });
  afterAll(async () => {
    await alerts?.stop();
    await store?.drop();
  });

  it('raises one projected-exhaustion alert while the forecast runs out, and clears it when it no longer does', async () => {
    const evaluator = startEvaluator({ lock: createProcessLeaderLock(), rules: [{ rule: analyticsRule(store.database.db, []), intervalMs: 0 }], sink: alerts.sink, intervalMs: 1, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), clock: () => asOfMs, refreshMs: 0 }, false);
    await evaluator.runOnce();
    await evaluator.runOnce();
    const firing = await store.database.db.select().from(alertsTable).where(eq(alertsTable.name, 'budget.projected_exhaustion'));
    expect(firing).toHaveLength(1);
    const [alert] = firing;
    expect(alert).toMatchObject({ source: 'analytics', state: 'firing', orgId: 'org_a', teamId: 'team_x', fingerprint: 'analytics:exhaustion:bud_x:team_x:2026-11-30', endsAt: new Date('2026-12-01T00:00:00.000Z') });
    expect(alert!.figures).toMatchObject({ limit: 60_000_000, scope: 'team', scopeId: 'team_x' });
    const runOutDay = String(alert!.figures.runOutDay);
    expect(runOutDay >= '2026-11-18' && runOutDay <= '2026-11-23').toBe(true);

    await store.database.db.update(budgets).set({ limit: 1_000_000_000 }).where(eq(budgets.id, 'bud_x'));
    await evaluator.runOnce();
    const [after] = await store.database.db.select().from(alertsTable).where(eq(alertsTable.id, alert!.id));
    expect(after).toMatchObject({ state: 'resolved', resolvedBy: 'system:cleared' });
    await evaluator.stop();
  });
});
