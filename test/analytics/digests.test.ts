// Scheduled report digests from two gateway processes sharing Redis and Postgres: a daily schedule
// made through the admin API sends yesterday's digest exactly once to each channel (a real webhook
// receiver verifying signatures, a Slack-shaped receiver, a real SMTP server parsed with
// mailparser), and its figures equal the report route's totals and the ledger's sums.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, orgs, teams, users } from '../../drizzle/schema/index.js';
import { createChannel } from '../../src/alerts/channel-store.js';
import { addDays } from '../../src/analytics/days.js';
import { usd } from '../../src/analytics/report-format.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { type MailReceiver, type SlackReceiver, type WebhookReceiver, startMailReceiver, startSlackReceiver, startWebhookReceiver } from '../alerts/receivers.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { spawnGateway } from '../helpers/processes.js';
import { postgresAvailable, redisAvailable } from '../helpers/services.js';
import { makeEvent } from '../usage/support.js';

const ready = (await redisAvailable()) && (await postgresAvailable());
const adminKey = 'tga-test-bootstrap-key-report-digests-0123456789';
const havePdftotext = (() => {
  try {
    execFileSync('pdftotext', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!ready)('scheduled report digests from two replicas', { timeout: 240_000 }, () => {
  let cluster: Cluster;
  let database: Database;
  let hook: WebhookReceiver;
  let slack: SlackReceiver;
  let mail: MailReceiver;
  const today = new Date().toISOString().slice(0, 10);
  const yesterday = addDays(today, -1);
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-digest-'));

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cluster.gateways[0]!.url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    [hook, slack, mail] = await Promise.all([startWebhookReceiver(), startSlackReceiver(), startMailReceiver()]);
    // The replicas are started here with a long start-up allowance: the machine is shared and busy.
    cluster = await startCluster('report_digests', 0, {
      TOLLGATE_ADMIN_KEY: adminKey,
      SMTP_URL: mail.smtpUrl,
      TOLLGATE_ALERTS__ALLOW_PRIVATE_DESTINATIONS: 'true',
      TOLLGATE_ALERTS__DELIVERY__POLL_INTERVAL_MS: '100',
      TOLLGATE_REPORTS__DIGEST_INTERVAL_MS: '200',
      TOLLGATE_REPORTS__DIGEST_GRACE_MS: '0',
    });
    for (let i = 0; i < 2; i++) cluster.gateways.push(await spawnGateway(cluster.env, 120_000));
    database = await openDatabase({ databaseUrl: cluster.databaseUrl, dataDir: '' });
    const d = database.db;
    await d.insert(orgs).values([{ id: 'org_d', name: 'acme' }, { id: 'org_other', name: 'other' }]);
    await d.insert(teams).values({ id: 'team_d', orgId: 'org_d', name: 'research' });
    await d.insert(users).values({ id: 'usr_d', orgId: 'org_d', teamId: 'team_d', name: 'alice' });
    await d.insert(apiKeys).values({ id: 'key_d', orgId: 'org_d', userId: 'usr_d', name: 'main', hash: 'h-digest', prefix: 'p' });
    // Yesterday's usage (the digest's), one event of today's (not in it) and one of the day before.
    const events: UsageEvent[] = [];
    const at = (day: string, minute: number, costMicros: number) =>
      events.push(makeEvent(events.length, { requestId: `dg${events.length}`, timeMs: Date.parse(`${day}T00:00:00Z`) + minute * 60_000, orgId: 'org_d', teamId: 'team_d', userId: 'usr_d', keyId: 'key_d', model: 'gpt-4o', costMicros, tags: {} }));
    for (let i = 0; i < 48; i++) at(yesterday, i * 30, 1_234_567 + i);
    at(yesterday, 0, 7);
    at(addDays(yesterday, -1), 23 * 60 + 59, 999_999_999);
    at(today, 0, 888_888_888);
    expect((await writeUsageEvents(d, events)).rejected).toEqual([]);
  }, 400_000);

  afterAll(async () => {
    await database?.close();
    await cluster?.stop();
    await Promise.all([hook?.stop(), slack?.stop(), mail?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a schedule whose channel belongs to another org', async () => {
    const foreign = await createChannel(database.db, 'org_other', { type: 'console', name: 'theirs' }, true);
    const res = await admin('POST', '/report-schedules', { orgId: 'org_d', name: 'bad', cadence: 'daily', channelIds: [foreign.id] });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'invalid_request', param: 'channelIds' } });
    expect((await admin('POST', '/report-schedules', { orgId: 'org_d', name: 'bad', cadence: 'hourly', channelIds: [foreign.id] })).status).toBe(400);
  });

  it('sends one daily digest per channel across both replicas, equal to the report and the ledger', async () => {
    const webhook = await createChannel(database.db, 'org_d', { type: 'webhook', name: 'finance hook', url: hook.url }, true);
    hook.secrets.push(webhook.secret!);
    const slackChannel = await createChannel(database.db, 'org_d', { type: 'slack', name: 'finance slack', url: slack.url }, true);
    const email = await createChannel(database.db, 'org_d', { type: 'email', name: 'finance mail', to: ['finance@example.com'] }, true);
    const created = await admin('POST', '/report-schedules', { orgId: 'org_d', name: 'daily finance', cadence: 'daily', tz: 'UTC', channelIds: [webhook.id, slackChannel.id, email.id] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    await expect.poll(() => hook.deliveries.length + slack.messages.length + mail.mails.length, { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(3);
    // Both replicas keep looking every 200 ms: give them time to send a second one if they would.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(hook.deliveries).toHaveLength(1);
    expect(slack.messages).toHaveLength(1);
    expect(mail.mails).toHaveLength(1);

    const ledger = (await database.db.execute(
      sql`select count(*)::bigint as requests, sum(cost_micros)::bigint as cost from usage_events where org_id = 'org_d' and time >= ${`${yesterday}T00:00:00Z`}::timestamptz and time < ${`${today}T00:00:00Z`}::timestamptz`,
    )) as unknown as { rows: Array<{ requests: string; cost: string }> };
    const costMicros = Number(ledger.rows[0]!.cost);
    const reported = await admin('GET', `/reports?org=org_d&from=${yesterday}&to=${yesterday}&tz=UTC`);

    const delivery = hook.deliveries[0]!;
    expect(delivery.verified).toBe(true);
    expect(delivery.body).toMatchObject({ type: 'report.digest', data: { scheduleId: created.body.id, cadence: 'daily', from: yesterday, to: yesterday, tz: 'UTC' } });
    const digestTotals = delivery.body.data.report.totals;
    expect(digestTotals.costMicros).toBe(costMicros);
    expect(digestTotals.requests).toBe(Number(ledger.rows[0]!.requests));
    expect(digestTotals).toEqual(reported.body.totals);

    expect(JSON.stringify(slack.messages[0])).toContain(usd(costMicros));

    const message = mail.mails[0]!;
    expect(message.subject).toContain(usd(costMicros));
    expect(message.html).toContain(usd(costMicros));
    expect(message.html).toContain('<svg');
    const pdf = message.attachments.find((a) => a.contentType === 'application/pdf')!;
    expect(pdf.content.subarray(0, 5).toString()).toBe('%PDF-');
    if (havePdftotext) {
      const file = join(dir, 'digest.pdf');
      writeFileSync(file, pdf.content);
      expect(execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' })).toContain(usd(costMicros));
    }

    const digests = await admin('GET', `/report-schedules/${created.body.id}/digests`);
    expect(digests.body.data).toEqual([expect.objectContaining({ periodFrom: yesterday, periodTo: yesterday, state: 'queued', totals: { costMicros, requests: Number(ledger.rows[0]!.requests) } })]);
  });
});
