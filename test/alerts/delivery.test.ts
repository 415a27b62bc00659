// The outbox sender against real receivers on loopback: a webhook endpoint verifying every
// delivery with the standardwebhooks package, a Slack-shaped endpoint and an SMTP server.
import { eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertChannels, alerts as alertsTable, notificationOutbox } from '../../drizzle/schema/index.js';
import { createChannel, createRoute, rotateChannelSecret } from '../../src/alerts/channel-store.js';
import { guardedLookup } from '../../src/alerts/destination.js';
import { channelFailingFingerprint } from '../../src/alerts/sender.js';
import { postgresAvailable } from '../helpers/services.js';
import { startMailReceiver, startSlackReceiver, startWebhookReceiver } from './receivers.js';
import { alertsConfig, openAlertDb, startTestAlerts, type AlertDb, type Kind } from './support.js';

const kinds: Kind[] = (await postgresAvailable()) ? ['pglite', 'postgres'] : ['pglite'];

let serial = 0;
// Each test routes its own source, so channels left by earlier tests never receive its alerts.
const testAlert = (n: number, source = `test${serial}`) =>
  ({ fingerprint: `${source}:${serial}:${n}`, source, name: `${source}.thing`, severity: 'high', summary: `Thing ${n} happened`, orgId: 'org_a', figures: { n } }) as const;

describe.each(kinds)('notification delivery on %s', (kind) => {
  let store: AlertDb;
  const db = () => store.database.db;
  const outbox = () => db().select().from(notificationOutbox).orderBy(notificationOutbox.id);

  beforeAll(async () => {
    store = await openAlertDb(kind, 'alert_delivery');
  });
  afterAll(async () => {
    await store?.drop();
  });

  async function webhookChannel(receiverUrl: string) {
    serial++;
    const source = `test${serial}`;
    const channel = await createChannel(db(), 'org_a', { type: 'webhook', name: `hook-${serial}`, url: receiverUrl }, true);
    await createRoute(db(), 'org_a', { channelId: channel.id, teamId: null, source, minSeverity: 'low', step: 0 });
    return channel;
  }

  it('a receiver refusing connections, then answering 503, then 200 gets every alert exactly once by webhook-id, across a restart', async () => {
    await db().delete(notificationOutbox);
    const receiver = await startWebhookReceiver();
    await receiver.down();
    const channel = await webhookChannel(receiver.url);
    receiver.secrets.push(channel.secret!);
    let alerts = startTestAlerts(store.database, alertsConfig({}, { failingAfter: 3 }));
    for (let n = 0; n < 5; n++) await alerts.sink.raise(testAlert(n));
    // Refused: every row is retried, and the channel raises its own alert after three failures in a row.
    await expect.poll(async () => (await outbox()).every((r) => r.attempts >= 2 && r.state === 'pending'), { timeout: 10_000 }).toBe(true);
    await expect.poll(async () => (await db().select().from(alertsTable).where(eq(alertsTable.fingerprint, channelFailingFingerprint(channel.id)))).map((a) => a.state), { timeout: 10_000 }).toEqual(['firing']);

    receiver.respond(503);
    await receiver.up();
    await expect.poll(() => receiver.deliveries.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);

    // The gateway restarts mid-retry; two senders share the outbox afterwards.
    await alerts.stop();
    await store.database.close();
    await store.reopen();
    alerts = startTestAlerts(store.database, alertsConfig({}, { failingAfter: 3 }));
    const twin = startTestAlerts(store.database, alertsConfig({}, { failingAfter: 3 }));
    receiver.respond(200);
    await expect.poll(() => receiver.accepted().size, { timeout: 10_000 }).toBe(5);
    await new Promise((r) => setTimeout(r, 600));
    await Promise.all([alerts.stop(), twin.stop()]);

    const rows = await outbox();
    expect(rows.map((r) => r.state)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    expect([...receiver.accepted().entries()].sort()).toEqual(rows.map((r) => [r.webhookId, 1]).sort());
    // Every attempt of a row carried the row's id and a valid signature.
    expect(receiver.deliveries.every((d) => d.verified)).toBe(true);
    expect(new Set(receiver.deliveries.map((d) => d.id))).toEqual(new Set(rows.map((r) => r.webhookId)));
    expect(receiver.deliveries.filter((d) => d.status === 503).length).toBeGreaterThanOrEqual(5);
    expect(receiver.deliveries.map((d) => d.body.type)).toSatisfy((types: string[]) => types.every((t) => t === 'alert.firing'));
    // The channel's own alert resolved on its first success.
    const [failing] = await db().select().from(alertsTable).where(eq(alertsTable.fingerprint, channelFailingFingerprint(channel.id)));
    expect(failing).toMatchObject({ state: 'resolved', source: 'delivery', name: 'channel.failing' });
    await receiver.stop();
  }, 60_000);

  it('waits as long as Retry-After says before trying again', async () => {
    await db().delete(notificationOutbox);
    const receiver = await startWebhookReceiver();
    const channel = await webhookChannel(receiver.url);
    receiver.secrets.push(channel.secret!);
    receiver.respond(429, { 'retry-after': '2' });
    const alerts = startTestAlerts(store.database, alertsConfig());
    await alerts.sink.raise(testAlert(1));
    await expect.poll(() => receiver.deliveries.length, { timeout: 15_000 }).toBe(1);
    receiver.respond(200);
    await expect.poll(() => receiver.accepted().size, { timeout: 15_000 }).toBe(1);
    await alerts.stop();
    const [first, second] = receiver.deliveries;
    expect(second!.atMs - first!.atMs).toBeGreaterThanOrEqual(1_900);
    expect(second!.id).toBe(first!.id);
    await receiver.stop();
  }, 45_000);

  it('a 410 disables the channel, drops its pending notices and raises a delivery alert', async () => {
    await db().delete(notificationOutbox);
    const receiver = await startWebhookReceiver();
    const channel = await webhookChannel(receiver.url);
    receiver.respond(410);
    const alerts = startTestAlerts(store.database, alertsConfig({}, { concurrency: 1 }));
    for (let n = 0; n < 3; n++) await alerts.sink.raise(testAlert(n));
    await expect.poll(async () => (await outbox()).map((r) => r.state), { timeout: 15_000 }).toEqual(['dropped', 'dropped', 'dropped']);
    await alerts.stop();
    expect(receiver.deliveries).toHaveLength(1);
    const [row] = await db().select().from(alertChannels).where(eq(alertChannels.id, channel.id));
    expect(row).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410') });
    const [alert] = await db().select().from(alertsTable).where(eq(alertsTable.fingerprint, channelFailingFingerprint(channel.id)));
    expect(alert).toMatchObject({ name: 'channel.disabled', state: 'firing' });
    await receiver.stop();
  }, 45_000);

  it('gives up on an attempt after the delivery timeout and delivers on a later one', async () => {
    await db().delete(notificationOutbox);
    const receiver = await startWebhookReceiver();
    const channel = await webhookChannel(receiver.url);
    receiver.secrets.push(channel.secret!);
    receiver.respond('hang');
    const alerts = startTestAlerts(store.database, alertsConfig({}, { timeoutMs: 300 }));
    await alerts.sink.raise(testAlert(1));
    await expect.poll(async () => (await outbox())[0]?.lastError, { timeout: 15_000 }).toBe('timed out after 300 ms');
    receiver.respond(200);
    await expect.poll(async () => (await outbox())[0]?.state, { timeout: 15_000 }).toBe('sent');
    await alerts.stop();
    expect([...receiver.accepted().values()]).toEqual([1]);
    await receiver.stop();
  }, 45_000);

  it('signs with the old and the new secret while a rotation runs', async () => {
    await db().delete(notificationOutbox);
    const receiver = await startWebhookReceiver();
    const channel = await webhookChannel(receiver.url);
    const rotated = await rotateChannelSecret(db(), channel.id, 3_600_000);
    const alerts = startTestAlerts(store.database, alertsConfig());
    await alerts.sink.raise(testAlert(1));
    await expect.poll(() => receiver.deliveries.length, { timeout: 15_000 }).toBe(1);
    await alerts.stop();
    const [d] = receiver.deliveries;
    expect(d!.signature.split(' ')).toHaveLength(2);
    // A receiver holding only the old secret, and one holding only the new, both verify it.
    for (const secret of [channel.secret!, rotated.secret]) {
      expect(() => new Webhook(secret).verify(d!.raw, { 'webhook-id': d!.id, 'webhook-timestamp': d!.timestamp, 'webhook-signature': d!.signature })).not.toThrow();
    }
    expect(() => new Webhook('whsec_' + Buffer.alloc(32, 1).toString('base64')).verify(d!.raw, { 'webhook-id': d!.id, 'webhook-timestamp': d!.timestamp, 'webhook-signature': d!.signature })).toThrow();
    expect(d!.body).toEqual((await outbox())[0]!.payload);
    await receiver.stop();
  }, 45_000);

  it('posts a Block Kit message to Slack and sends an email with text and HTML bodies', async () => {
    await db().delete(notificationOutbox);
    const slack = await startSlackReceiver();
    const mail = await startMailReceiver();
    serial++;
    const slackChannel = await createChannel(db(), 'org_a', { type: 'slack', name: `slack-${serial}`, url: slack.url }, true);
    const emailChannel = await createChannel(db(), 'org_a', { type: 'email', name: `mail-${serial}`, to: ['oncall@example.com'] }, true);
    for (const c of [slackChannel, emailChannel]) await createRoute(db(), 'org_a', { channelId: c.id, teamId: null, source: 'mailtest', minSeverity: 'low', step: 0 });
    const alerts = startTestAlerts(store.database, alertsConfig({ smtpUrl: mail.smtpUrl, emailFrom: 'Tollgate <alerts@tollgate.test>' }));
    const { alertId } = await alerts.sink.raise(testAlert(7, 'mailtest'));
    await expect.poll(() => slack.messages.length + mail.mails.length, { timeout: 10_000 }).toBe(2);
    const metrics = await alerts.registry.metrics();
    expect(metrics).toContain('tollgate_alert_deliveries_total{channel_type="slack",outcome="sent"} 1');
    expect(metrics).toContain('tollgate_alert_deliveries_total{channel_type="email",outcome="sent"} 1');
    expect(metrics).toContain('tollgate_alerts_firing{severity="high",source="mailtest"} 1');
    await alerts.stop();
    expect(slackChannel).toMatchObject({ url: slack.url, settings: { host: new URL(slack.url).host } });
    const [message] = slack.messages;
    expect(message.text).toBe('[HIGH] firing: Thing 7 happened');
    expect(message.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(message.blocks[3].elements[0].text).toContain(alertId);
    const [email] = mail.mails;
    const row = (await outbox()).find((r) => r.channelId === emailChannel.id)!;
    expect(email!.subject).toBe('[HIGH] firing: Thing 7 happened');
    expect(email!.from?.text).toContain('alerts@tollgate.test');
    expect(email!.text).toContain('Thing 7 happened');
    expect(email!.text).toContain('n: 7');
    expect(email!.html).toContain('<th align="left">n</th><td>7</td>');
    expect(email!.messageId).toBe(`<${row.webhookId}@tollgate>`);
    await slack.stop();
    await mail.stop();
  }, 45_000);

  it('refuses loopback and private destinations unless allowed', async () => {
    await expect(createChannel(db(), 'org_a', { type: 'webhook', name: 'private', url: 'http://10.1.2.3/hook' }, false)).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(createChannel(db(), 'org_a', { type: 'slack', name: 'loop', url: 'http://localhost:9/x' }, false)).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(createChannel(db(), 'org_a', { type: 'webhook', name: 'meta', url: 'http://[::ffff:169.254.169.254]/' }, false)).rejects.toMatchObject({ code: 'invalid_request' });
    // A name that resolves to a loopback address is refused at connect time.
    const looked = await new Promise<string>((resolve) => guardedLookup('localhost', {}, (err) => resolve(err ? (err as Error).message : 'connected')));
    expect(looked).toMatch(/private or loopback/);
    // A channel saved while allowed is refused once the config stops allowing it: the row fails, unsent.
    await db().delete(notificationOutbox);
    const receiver = await startWebhookReceiver();
    await webhookChannel(receiver.url);
    const alerts = startTestAlerts(store.database, alertsConfig({ allowPrivateDestinations: false }));
    await alerts.sink.raise(testAlert(1));
    await expect.poll(async () => (await outbox())[0]?.state, { timeout: 15_000 }).toBe('failed');
    await alerts.stop();
    expect(receiver.deliveries).toHaveLength(0);
    await receiver.stop();
  }, 45_000);
});
