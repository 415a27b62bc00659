// Alerts through a running (embedded) gateway's request path and admin API: a per-minute budget
// exhausted by real requests notifies its channel once and, when the minute rolls over, sends the
// resolved notice; RBAC keeps each role to the alerts within its reach.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { alertsSchema } from '../../src/alerts/config.js';
import { createAlertStore } from '../../src/alerts/store.js';
import { type AdminFixture, startAdminFixture } from '../admin/support.js';
import { chatStatus } from '../helpers/requests.js';
import { startWebhookReceiver, type WebhookReceiver } from './receivers.js';

describe('alerts in a running gateway', () => {
  let mock: MockUpstream;
  let f: AdminFixture;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    mock = await startMockUpstream();
    receiver = await startWebhookReceiver();
    f = await startAdminFixture(mock, { overrides: { 'alerts.allowPrivateDestinations': true, 'alerts.sweepIntervalMs': 250, 'alerts.delivery.pollIntervalMs': 100 } });
  });

  afterAll(async () => {
    await f?.gw.close();
    await receiver?.stop();
    await mock?.close();
  });

  it('notifies an exhausted minute budget once and sends the resolved notice when the minute rolls over', async () => {
    const channel = await f.call('POST', '/alert-channels', f.tokens.admin, { type: 'webhook', name: 'ops', url: receiver.url, orgId: f.orgId });
    expect(channel.status, channel.text).toBe(201);
    expect(channel.body.secret).toMatch(/^whsec_/);
    receiver.secrets.push(channel.body.secret);
    const shown = await f.call('GET', `/alert-channels/${channel.body.id}`, f.tokens.viewer);
    expect(shown.status).toBe(200);
    expect(shown.text).not.toContain(channel.body.secret);
    expect((await f.call('POST', '/alert-routes', f.tokens.admin, { channelId: channel.body.id, source: 'budget' })).status).toBe(201);
    const budget = await f.call('PUT', '/budgets', f.tokens.admin, { scope: 'user', scopeId: f.gw.created.userId, metric: 'requests', window: 'minute', limit: 2 });
    expect(budget.status, budget.text).toBe(200);

    // The budget takes effect once the rules reload; then two requests exhaust it.
    await expect.poll(async () => chatStatus(f.gw.url, f.gw.key), { timeout: 10_000, interval: 100 }).toBe(429);
    await expect.poll(() => receiver.accepted().size, { timeout: 5_000 }).toBe(1);
    const [fired] = receiver.deliveries;
    expect(fired!.verified).toBe(true);
    expect(fired!.body).toMatchObject({ type: 'alert.firing', data: { name: 'budget.exceeded', severity: 'critical', figures: { used: 2, limit: 2, percent: 100, window: 'minute' } } });

    await expect.poll(() => receiver.accepted().size, { timeout: 70_000, interval: 250 }).toBe(2);
    const resolved = receiver.deliveries.at(-1)!;
    expect(resolved.body).toMatchObject({ type: 'alert.resolved', data: { id: fired!.body.data.id, state: 'resolved', resolvedBy: 'system:window_end' } });
    expect(Date.parse(resolved.body.data.resolvedAt)).toBeGreaterThanOrEqual(Date.parse(fired!.body.data.figures.windowEndsAt));
    expect(resolved.verified).toBe(true);
  }, 90_000);

  it('keeps each role to the alerts within its reach', async () => {
    const store = createAlertStore({ db: f.gw.app.database.db, config: alertsSchema.parse({}) });
    const raise = async (name: string, teamId: string | null, userId: string | null) =>
      (await store.raise({ fingerprint: `reach:${name}`, source: 'test', name, severity: 'medium', summary: name, orgId: f.orgId, teamId, userId })).alertId;
    const ml = await raise('ml', f.teams.ml, f.users.dev);
    const sales = await raise('sales', f.teams.sales, f.users.olga);
    const orgWide = await raise('org', null, null);
    const names = async (role: keyof AdminFixture['tokens']) =>
      ((await f.call('GET', '/alerts?source=test', f.tokens[role])).body.data as Array<{ name: string }>).map((a) => a.name).sort();
    expect(await names('admin')).toEqual(['ml', 'org', 'sales']);
    expect(await names('viewer')).toEqual(['ml', 'org', 'sales']);
    expect(await names('manager')).toEqual(['ml']);
    expect(await names('developer')).toEqual(['ml']);
    expect((await f.call('POST', `/alerts/${sales}/acknowledge`, f.tokens.manager)).body).toMatchObject({ error: { code: 'forbidden' } });
    expect((await f.call('POST', `/alerts/${orgWide}/resolve`, f.tokens.manager)).status).toBe(403);
    expect((await f.call('GET', `/alerts/${sales}`, f.tokens.developer)).status).toBe(403);
    const acked = await f.call('POST', `/alerts/${ml}/acknowledge`, f.tokens.manager);
    expect(acked.body).toMatchObject({ state: 'acknowledged', ackedBy: f.users.mgr });
    expect((await f.call('POST', `/alerts/${ml}/acknowledge`, f.tokens.developer)).status).toBe(403);
  });
});
