// Scheduled digests run on their own switch: with alerts turned off, a daily schedule still sends
// yesterday's digest once to each channel (a webhook receiver verifying signatures, a real SMTP
// server parsed with mailparser), from one embedded gateway on PGlite and from two gateways sharing
// Postgres; with `reports.digestsEnabled: false` nothing is queued even with alerts on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { orgs } from '../../drizzle/schema/index.js';
import { reportDigests, reportSchedules } from '../../drizzle/schema/reports.js';
import { createChannel } from '../../src/alerts/channel-store.js';
import { type App, startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { addDays } from '../../src/analytics/days.js';
import { usd } from '../../src/analytics/report-format.js';
import { type Db, openDatabase } from '../../src/db/database.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { type MailReceiver, type WebhookReceiver, startMailReceiver, startWebhookReceiver } from '../alerts/receivers.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';
import { makeEvent } from '../usage/support.js';

const haveServices = (await redisAvailable()) && (await postgresAvailable());
const today = new Date().toISOString().slice(0, 10);
const yesterday = addDays(today, -1);

interface Fleet {
  apps: App[];
  db: Db;
  hook: WebhookReceiver;
  mail: MailReceiver;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startFleet(replicas: number, backend: 'pglite' | 'postgres', env: Record<string, string>): Promise<Fleet> {
  const [hook, mail] = await Promise.all([startWebhookReceiver(), startMailReceiver()]);
  cleanups.push(() => hook.stop(), () => mail.stop());
  const shared: Record<string, string> = {
    SMTP_URL: mail.smtpUrl,
    TOLLGATE_ALERTS__ENABLED: 'false',
    TOLLGATE_ALERTS__ALLOW_PRIVATE_DESTINATIONS: 'true',
    TOLLGATE_ALERTS__DELIVERY__POLL_INTERVAL_MS: '100',
    TOLLGATE_REPORTS__DIGEST_INTERVAL_MS: '200',
    TOLLGATE_REPORTS__DIGEST_GRACE_MS: '0',
    ...env,
  };
  if (backend === 'postgres') {
    const database = await createTestDatabase('digests_no_alerts');
    cleanups.push(() => database.drop());
    const migrating = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    await migrating.migrate();
    await migrating.close();
    Object.assign(shared, { DATABASE_URL: database.url, REDIS_URL: redisUrl, TOLLGATE_REDIS_KEY_PREFIX: uniquePrefix('digests-no-alerts') });
  } else {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-digests-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    shared.TOLLGATE_DATA_DIR = dataDir;
  }
  const apps: App[] = [];
  for (let i = 0; i < replicas; i++) {
    const config = loadConfig({ env: shared, overrides: { 'server.port': 0, 'server.host': '127.0.0.1', 'server.drainTimeoutMs': 1_000 } });
    const app = await startApp(config, { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
    cleanups.push(() => app.close());
    apps.push(app);
  }
  return { apps, db: apps[0]!.database.db, hook, mail };
}

// Yesterday's usage (the digest's) and one event of today's, which it must leave out.
async function seed(db: Db): Promise<number> {
  await db.insert(orgs).values({ id: 'org_n', name: 'no-alerts' });
  const events: UsageEvent[] = [];
  const at = (day: string, minute: number, costMicros: number) =>
    events.push(makeEvent(events.length, { requestId: `na${events.length}`, timeMs: Date.parse(`${day}T00:00:00Z`) + minute * 60_000, orgId: 'org_n', teamId: null, userId: 'usr_n', keyId: 'key_n', model: 'gpt-4o', costMicros, tags: {} }));
  for (let i = 0; i < 24; i++) at(yesterday, i * 60, 2_000_000 + i);
  at(today, 0, 777_777_777);
  expect((await writeUsageEvents(db, events)).rejected).toEqual([]);
  return events.slice(0, 24).reduce((sum, e) => sum + e.costMicros, 0);
}

async function scheduleDaily(fleet: Fleet): Promise<void> {
  const webhook = await createChannel(fleet.db, 'org_n', { type: 'webhook', name: 'finance hook', url: fleet.hook.url }, true);
  fleet.hook.secrets.push(webhook.secret!);
  const email = await createChannel(fleet.db, 'org_n', { type: 'email', name: 'finance mail', to: ['finance@example.com'] }, true);
  await fleet.db.insert(reportSchedules).values({ id: 'sch_n', orgId: 'org_n', name: 'daily finance', cadence: 'daily', tz: 'UTC', channelIds: [webhook.id, email.id] });
}

const backends = [
  { backend: 'pglite' as const, replicas: 1 },
  ...(haveServices ? [{ backend: 'postgres' as const, replicas: 2 }] : []),
];

describe('scheduled digests on their own switch', { timeout: 120_000 }, () => {
  it.each(backends)('$backend with $replicas replica(s) sends one digest per channel', async ({ backend, replicas }) => {
    const fleet = await startFleet(replicas, backend, {});
    const costMicros = await seed(fleet.db);
    await scheduleDaily(fleet);

    await expect.poll(() => fleet.hook.deliveries.length + fleet.mail.mails.length, { timeout: 60_000, interval: 200 }).toBeGreaterThanOrEqual(2);
    // Every replica keeps looking every 200 ms: give them time to send a second one if they would.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(fleet.hook.deliveries).toHaveLength(1);
    expect(fleet.mail.mails).toHaveLength(1);
    const delivery = fleet.hook.deliveries[0]!;
    expect(delivery.verified).toBe(true);
    expect(delivery.body).toMatchObject({ type: 'report.digest', data: { scheduleId: 'sch_n', from: yesterday, to: yesterday, report: { totals: { costMicros, requests: 24 } } } });
    expect(fleet.mail.mails[0]!.subject).toContain(usd(costMicros));
    expect(fleet.mail.mails[0]!.attachments.map((a) => a.contentType)).toContain('application/pdf');
    // No alert machinery ran: the digests were the outbox's only rows.
    const rows = (await fleet.db.execute(sql`select event, state from notification_outbox`)) as unknown as { rows: Array<{ event: string; state: string }> };
    expect(rows.rows).toEqual([{ event: 'digest', state: 'sent' }, { event: 'digest', state: 'sent' }]);
  });

  it('queues nothing when digests are switched off, alerts on or not', async () => {
    const fleet = await startFleet(1, 'pglite', { TOLLGATE_ALERTS__ENABLED: 'true', TOLLGATE_REPORTS__DIGESTS_ENABLED: 'false' });
    await seed(fleet.db);
    await scheduleDaily(fleet);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await fleet.db.select().from(reportDigests)).toEqual([]);
    expect(fleet.hook.deliveries.length + fleet.mail.mails.length).toBe(0);
  });
});
