// The alert lifecycle on both stores: dedupe by fingerprint, inhibition, repeats until acknowledged,
// window-end resolution with resolved notices, escalation to the next route step, and routing.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { alertRoutes, alerts as alertsTable, notificationOutbox } from '../../drizzle/schema/index.js';
import { budgetAlert } from '../../src/alerts/budget-source.js';
import { createChannel, createRoute } from '../../src/alerts/channel-store.js';
import { alertHistory, listAlerts } from '../../src/alerts/store.js';
import type { Crossing } from '../../src/budget/engine.js';
import { everything } from '../../src/control/visibility.js';
import { postgresAvailable } from '../helpers/services.js';
import { alertsConfig, openAlertDb, startTestAlerts, testClock, type AlertDb, type Kind } from './support.js';

const kinds: Kind[] = (await postgresAvailable()) ? ['pglite', 'postgres'] : ['pglite'];
const minuteMs = 60_000;
const hourMs = 3_600_000;

const principal = { orgId: 'org_a', userId: 'usr_1', teamIds: ['team_1'] } as never;
const crossing = (level: Crossing['level'], used: number, resetAtMs: number | null, bucketKey = 'tg:{org:org_a}:b:user:usr_1:requests:minute:0'): Crossing => ({
  bucket: { scope: 'user', scopeId: 'usr_1', metric: 'requests', window: 'minute' },
  level,
  used,
  limit: 20,
  bucketKey,
  resetAtMs,
});

describe.each(kinds)('alert lifecycle on %s', (kind) => {
  let store: AlertDb;
  let clock: ReturnType<typeof testClock>;
  let alerts: ReturnType<typeof startTestAlerts>;
  let first: string;
  let second: string;
  const severity = alertsConfig().budgetSeverity;

  const outbox = async (channelId?: string) => {
    const rows = await store.database.db.select().from(notificationOutbox).orderBy(notificationOutbox.id);
    return rows.filter((r) => !channelId || r.channelId === channelId);
  };

  beforeAll(async () => {
    store = await openAlertDb(kind, 'alert_lifecycle');
  });
  afterAll(async () => {
    await alerts?.stop();
    await store?.drop();
  });
  beforeEach(async () => {
    await alerts?.stop();
    const db = store.database.db;
    await db.delete(alertsTable);
    await db.delete(notificationOutbox);
    await db.delete(alertRoutes);
    clock = testClock();
    alerts = startTestAlerts(store.database, alertsConfig({ enabled: false, repeatIntervalMs: 4 * hourMs, escalateAfterMs: 30 * minuteMs }), clock.now);
    first = (await createChannel(db, 'org_a', { type: 'console', name: `first-${kind}` }, true)).id;
    second = (await createChannel(db, 'org_a', { type: 'console', name: `second-${kind}` }, true)).id;
    await createRoute(db, 'org_a', { channelId: first, teamId: null, source: null, minSeverity: 'low', step: 0 });
  });

  it('stores one alert and one notice per channel when replicas raise the same fingerprint at once', async () => {
    const input = budgetAlert(crossing('warning', 16, clock.now() + minuteMs), { principal }, severity);
    const results = await Promise.all(Array.from({ length: 10 }, () => alerts.sink.raise(input, clock.now())));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.alertId)).size).toBe(1);
    const rows = await listAlerts(store.database.db, everything, { limit: 100 });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ severity: 'medium', state: 'firing', source: 'budget', orgId: 'org_a', teamId: 'team_1', userId: 'usr_1', figures: { used: 16, limit: 20, percent: 80 } });
    expect(await outbox(first)).toHaveLength(1);
  });

  it('maps warning, critical and exceeded to medium, high and critical, one notice each', async () => {
    const ends = clock.now() + minuteMs;
    for (const [level, used] of [['warning', 16], ['critical', 19], ['exceeded', 20]] as const) await alerts.sink.raise(budgetAlert(crossing(level, used, ends), { principal }, severity), clock.now());
    const sent = await outbox(first);
    expect(sent.map((r) => [r.event, (r.payload as any).data.severity])).toEqual([['firing', 'medium'], ['firing', 'high'], ['firing', 'critical']]);
  });

  it('an exceeded alert mutes the warning of the same bucket and window: no notice, no repeats', async () => {
    const ends = clock.now() + 10 * hourMs;
    await alerts.sink.raise(budgetAlert(crossing('exceeded', 20, ends), { principal }, severity), clock.now());
    const warning = await alerts.sink.raise(budgetAlert(crossing('warning', 20, ends), { principal }, severity), clock.now());
    expect(warning.created).toBe(true);
    const [stored] = await store.database.db.select().from(alertsTable).where(eq(alertsTable.id, warning.alertId));
    expect(stored).toMatchObject({ inhibited: true, state: 'firing' });
    expect((await outbox(first)).map((r) => (r.payload as any).data.name)).toEqual(['budget.exceeded']);
    // Another bucket's warning is not muted.
    await alerts.sink.raise(budgetAlert(crossing('warning', 16, ends, 'tg:{org:org_a}:b:user:usr_1:requests:minute:other'), { principal }, severity), clock.now());
    expect(await outbox(first)).toHaveLength(2);
    clock.advance(4 * hourMs + 1);
    await alerts.store.sweep(clock.now());
    const repeats = (await outbox(first)).filter((r) => r.event === 'repeat');
    expect(repeats.map((r) => (r.payload as any).data.name).sort()).toEqual(['budget.exceeded', 'budget.warning']);
    expect(repeats.some((r) => (r.payload as any).data.id === warning.alertId)).toBe(false);
    expect((await alertHistory(store.database.db, warning.alertId)).map((e) => e.kind)).toEqual(['fired', 'inhibited']);
  });

  it('crossings handed over together are raised highest first, so the exceeded one mutes the others', async () => {
    const ends = clock.now() + minuteMs;
    const ctx = { principal } as never;
    alerts.budget.onCrossing(crossing('warning', 16, ends), ctx);
    alerts.budget.onCrossing(crossing('critical', 19, ends), ctx);
    alerts.budget.onCrossing(crossing('exceeded', 20, ends), ctx);
    await alerts.budget.drain();
    // A crossing arriving after the queue emptied is still written.
    alerts.budget.onCrossing(crossing('exceeded', 20, ends, 'tg:{org:org_a}:b:user:usr_1:requests:minute:later'), ctx);
    await alerts.budget.drain();
    const rows = await listAlerts(store.database.db, everything, { limit: 100 });
    expect(rows.map((r) => [r.name, r.inhibited]).sort()).toEqual([['budget.critical', true], ['budget.exceeded', false], ['budget.exceeded', false], ['budget.warning', true]]);
    expect((await outbox(first)).map((r) => (r.payload as any).data.name)).toEqual(['budget.exceeded', 'budget.exceeded']);
  });

  it('repeats a firing alert every repeat interval until it is acknowledged', async () => {
    const { alertId } = await alerts.sink.raise(budgetAlert(crossing('critical', 19, null), { principal }, severity), clock.now());
    clock.advance(4 * hourMs - 1000);
    await alerts.store.sweep(clock.now());
    expect(await outbox(first)).toHaveLength(1);
    clock.advance(2000);
    await alerts.store.sweep(clock.now());
    await alerts.store.sweep(clock.now());
    expect((await outbox(first)).map((r) => r.event)).toEqual(['firing', 'repeat']);
    await alerts.store.acknowledge(alertId, 'usr_admin', clock.now());
    clock.advance(8 * hourMs);
    await alerts.store.sweep(clock.now());
    expect((await outbox(first)).map((r) => r.event)).toEqual(['firing', 'repeat']);
    await expect(alerts.store.acknowledge(alertId, 'usr_admin', clock.now())).rejects.toMatchObject({ code: 'conflict' });
    expect((await alertHistory(store.database.db, alertId)).map((e) => [e.kind, e.actor])).toEqual([['fired', null], ['notified', null], ['repeated', null], ['acknowledged', 'usr_admin']]);
  });

  it('resolves a minute-window alert when the window rolls over and sends the resolved notice', async () => {
    const ends = clock.now() + minuteMs;
    const { alertId } = await alerts.sink.raise(budgetAlert(crossing('exceeded', 20, ends), { principal }, severity), clock.now());
    clock.set(ends - 1);
    await alerts.store.sweep(clock.now());
    expect((await outbox(first)).map((r) => r.event)).toEqual(['firing']);
    clock.set(ends);
    await alerts.store.sweep(clock.now());
    await alerts.store.sweep(clock.now());
    const notices = await outbox(first);
    expect(notices.map((r) => r.event)).toEqual(['firing', 'resolved']);
    expect((notices[1]!.payload as any).data).toMatchObject({ id: alertId, state: 'resolved', resolvedBy: 'system:window_end' });
    // The next window's crossing is a new alert.
    const next = await alerts.sink.raise(budgetAlert(crossing('exceeded', 20, ends + minuteMs, 'tg:{org:org_a}:b:user:usr_1:requests:minute:60000'), { principal }, severity), clock.now());
    expect(next.created).toBe(true);
  });

  it('the sweep deletes finished notifications past the outbox retention and keeps pending ones', async () => {
    const { alertId } = await alerts.sink.raise(budgetAlert(crossing('warning', 16, null), { principal }, severity), clock.now());
    await alerts.sink.raise(budgetAlert(crossing('critical', 19, null), { principal }, severity), clock.now());
    const [sent] = await outbox(first);
    await store.database.db.update(notificationOutbox).set({ state: 'sent' }).where(eq(notificationOutbox.id, sent!.id));
    clock.advance(30 * 24 * hourMs - 1);
    await alerts.store.acknowledge(alertId, 'usr_admin', clock.now());
    await alerts.store.sweep(clock.now());
    expect(await outbox(first)).toHaveLength(3);
    clock.advance(2);
    await alerts.store.sweep(clock.now());
    expect((await outbox(first)).map((r) => [r.event, r.state])).toEqual([['firing', 'pending'], ['repeat', 'pending']]);
    expect(await alertHistory(store.database.db, alertId)).not.toHaveLength(0);
  });

  it('clearing a fingerprint resolves it once and raising it again makes a new alert', async () => {
    const input = { fingerprint: 'health:flush_lag', source: 'health', name: 'usage.flush_lag', severity: 'high', summary: 'Usage flush lag 90 s', figures: { lagMs: 90_000 } } as const;
    const a = await alerts.sink.raise(input, clock.now());
    expect(await Promise.all([alerts.sink.clear(input.fingerprint, clock.now()), alerts.sink.clear(input.fingerprint, clock.now())])).toEqual(expect.arrayContaining([true, false]));
    const b = await alerts.sink.raise(input, clock.now());
    expect(b.created).toBe(true);
    expect(b.alertId).not.toBe(a.alertId);
  });

  it('escalates an unacknowledged alert to the next step after the escalation period, and not an acknowledged one', async () => {
    await createRoute(store.database.db, 'org_a', { channelId: second, teamId: null, source: null, minSeverity: 'low', step: 1 });
    const a = await alerts.sink.raise(budgetAlert(crossing('exceeded', 20, null), { principal }, severity), clock.now());
    const b = await alerts.sink.raise(budgetAlert(crossing('exceeded', 20, null, 'tg:{org:org_a}:b:user:usr_1:requests:minute:x'), { principal }, severity), clock.now());
    await alerts.store.acknowledge(b.alertId, 'usr_admin', clock.now());
    expect(await outbox(second)).toHaveLength(0);
    clock.advance(30 * minuteMs + 1);
    await alerts.store.sweep(clock.now());
    await alerts.store.sweep(clock.now());
    const escalated = await outbox(second);
    expect(escalated.map((r) => [r.event, (r.payload as any).data.id])).toEqual([['escalated', a.alertId]]);
    // A later resolution tells both steps' channels.
    await alerts.store.resolve(a.alertId, 'usr_admin', clock.now());
    expect((await outbox(second)).map((r) => r.event)).toEqual(['escalated', 'resolved']);
    expect((await outbox(first)).filter((r) => r.event === 'resolved')).toHaveLength(1);
  });

  it('routes by minimum severity, source and team, and never to another org\'s channel', async () => {
    const db = store.database.db;
    await db.delete(alertRoutes);
    await createRoute(db, 'org_a', { channelId: first, teamId: null, source: 'budget', minSeverity: 'high', step: 0 });
    await createRoute(db, 'org_a', { channelId: second, teamId: 'team_2', source: null, minSeverity: 'low', step: 0 });
    await alerts.sink.raise(budgetAlert(crossing('warning', 16, null), { principal }, severity), clock.now());
    await alerts.sink.raise(budgetAlert(crossing('critical', 19, null), { principal }, severity), clock.now());
    await alerts.sink.raise({ fingerprint: 'health:x', source: 'health', name: 'x', severity: 'critical', summary: 'x', orgId: 'org_a', teamId: 'team_2' }, clock.now());
    expect((await outbox(first)).map((r) => (r.payload as any).data.name)).toEqual(['budget.critical']);
    expect((await outbox(second)).map((r) => (r.payload as any).data.name)).toEqual(['x']);
    await alerts.sink.raise({ fingerprint: 'health:other-org', source: 'health', name: 'y', severity: 'critical', summary: 'y', orgId: 'org_b', teamId: 'team_2' }, clock.now());
    expect(await outbox()).toHaveLength(2);
  });
});
