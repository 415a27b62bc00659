// Quota requests through alerting, delivered by the real sender to a real SMTP server: filing one
// tells the deciders' channel (routed by source and team), deciding it sends them the resolved
// notice and the requester, at their account's email, the answer; evaluating again sends nothing.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts as alertsTable, budgets, teams, users } from '../../drizzle/schema/index.js';
import { createChannel, createRoute } from '../../src/alerts/channel-store.js';
import { startEvaluator, type Evaluator } from '../../src/alerts/evaluator.js';
import { createProcessLeaderLock } from '../../src/alerts/leader.js';
import { quotaRequestsRule } from '../../src/alerts/quota-notices.js';
import { createLocalInvalidationBus } from '../../src/auth/invalidation.js';
import type { ChangeContext } from '../../src/control/actor.js';
import { decideQuotaRequest, submitQuotaRequest } from '../../src/control/quota-requests.js';
import { postgresAvailable } from '../helpers/services.js';
import { type MailReceiver, startMailReceiver } from './receivers.js';
import { alertsConfig, openAlertDb, startTestAlerts, type AlertDb } from './support.js';

const pgUp = await postgresAvailable();
const change = (id: string, userId: string | null): ChangeContext => ({ actor: { type: 'admin_key', id, role: 'admin', userId } as never, requestId: `req-${id}` });

describe.skipIf(!pgUp)('quota request notices', () => {
  let store: AlertDb;
  let mail: MailReceiver;
  let alerts: ReturnType<typeof startTestAlerts>;
  let evaluator: Evaluator;

  beforeAll(async () => {
    store = await openAlertDb('postgres', 'alert_quota');
    mail = await startMailReceiver();
    alerts = startTestAlerts(store.database, alertsConfig({ smtpUrl: mail.smtpUrl }));
    const db = store.database.db;
    await db.insert(teams).values([{ id: 'team_r', orgId: 'org_a', parentId: null, name: 'research' }, { id: 'team_s', orgId: 'org_a', parentId: null, name: 'sales' }]);
    await db.insert(users).values({ id: 'usr_ada', orgId: 'org_a', teamId: 'team_r', name: 'ada', email: 'ada@example.com' });
    await db.insert(budgets).values({ id: 'bud_ada', orgId: 'org_a', scope: 'user', scopeId: 'usr_ada', metric: 'costMicros', window: 'month', limit: 10_000_000 });
    // Research's managers decide research's requests; sales' channel must hear nothing.
    const managers = await createChannel(db, 'org_a', { type: 'email', name: 'research managers', to: ['research-leads@example.com'] }, true);
    await createRoute(db, 'org_a', { channelId: managers.id, teamId: 'team_r', source: 'quota', minSeverity: 'low', step: 0 });
    const sales = await createChannel(db, 'org_a', { type: 'email', name: 'sales managers', to: ['sales-leads@example.com'] }, true);
    await createRoute(db, 'org_a', { channelId: sales.id, teamId: 'team_s', source: 'quota', minSeverity: 'low', step: 0 });
    evaluator = startEvaluator({ lock: createProcessLeaderLock(), rules: [{ rule: quotaRequestsRule(db), intervalMs: 0 }], sink: alerts.sink, intervalMs: 1, logger: pino({ level: 'silent' }) }, false);
  });
  afterAll(async () => {
    await evaluator?.stop();
    await alerts?.stop();
    await mail?.stop();
    await store?.drop();
  });

  const recipients = () => mail.mails.map((m) => `${(m.to as { text: string }).text}: ${m.subject}`);

  it('tells the deciders when filed and the requester when decided, each once', async () => {
    const db = store.database.db;
    const request = await submitQuotaRequest(db, change('ada', 'usr_ada'), { userId: 'usr_ada', budgetId: 'bud_ada', amount: 5_000_000, justification: 'fine-tuning run this week' });
    await evaluator.runOnce();
    await evaluator.runOnce();
    await expect.poll(() => mail.mails.length, { timeout: 10_000 }).toBe(1);
    expect(recipients()[0]).toBe('research-leads@example.com: [MEDIUM] firing: ada asks for 5000000 more on the costMicros/month budget of user usr_ada (limit 10000000): fine-tuning run this week');

    await decideQuotaRequest(db, createLocalInvalidationBus(), change('boss', 'usr_boss'), request.id, { approve: true });
    await evaluator.runOnce();
    await evaluator.runOnce();
    await expect.poll(() => mail.mails.length, { timeout: 10_000 }).toBe(3);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(recipients().slice(1).sort()).toEqual([
      'ada@example.com: [LOW] firing: Your request for 5000000 more on the costMicros/month budget of user usr_ada was approved by boss; the limit is now 15000000.',
      'research-leads@example.com: [MEDIUM] resolved: ada asks for 5000000 more on the costMicros/month budget of user usr_ada (limit 10000000): fine-tuning run this week',
    ]);
    const [alert] = await db.select().from(alertsTable);
    expect(alert).toMatchObject({ fingerprint: `quota:${request.id}`, source: 'quota', state: 'resolved', teamId: 'team_r', userId: 'usr_ada' });

    // A fresh evaluator (another replica taking over) sends nothing again.
    const next = startEvaluator({ lock: createProcessLeaderLock(), rules: [{ rule: quotaRequestsRule(db) }], sink: alerts.sink, intervalMs: 1, logger: pino({ level: 'silent' }) }, false);
    await next.runOnce();
    await next.stop();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(mail.mails).toHaveLength(3);
  }, 30_000);
});
