// The alerts and channels commands through the real CLI, offline on a Postgres database: secrets
// shown once, a test send verified by a real receiver, list filters, ack, resolve and history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsSchema } from '../../src/alerts/config.js';
import { createAlertStore } from '../../src/alerts/store.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { runCli } from '../helpers/processes.js';
import { createTestDatabase, postgresAvailable } from '../helpers/services.js';
import { startWebhookReceiver, type WebhookReceiver } from './receivers.js';

const ready = await postgresAvailable();

describe.skipIf(!ready)('tollgate alerts and channels', () => {
  let drop: () => Promise<void>;
  let env: Record<string, string>;
  let database: Database;
  let receiver: WebhookReceiver;
  const cli = async (...args: string[]) => {
    const result = await runCli(args, env);
    expect(result.code, result.stderr).toBe(0);
    return args.includes('--json') ? JSON.parse(result.stdout) : result.stdout;
  };

  beforeAll(async () => {
    const created = await createTestDatabase('alert_cli');
    drop = created.drop;
    env = { DATABASE_URL: created.url, TOLLGATE_ALERTS__ALLOW_PRIVATE_DESTINATIONS: 'true' };
    expect((await runCli(['migrate'], env)).code).toBe(0);
    database = await openDatabase({ databaseUrl: created.url, dataDir: '' });
    receiver = await startWebhookReceiver();
  }, 30_000);

  afterAll(async () => {
    await receiver?.stop();
    await database?.close();
    await drop?.();
  });

  it('adds a webhook channel showing its secret once, tests it against a verifying receiver, routes and removes it', async () => {
    const channel = await cli('channels', 'add', '--type', 'webhook', '--name', 'ops', '--url', receiver.url, '--json');
    expect(channel).toMatchObject({ type: 'webhook', name: 'ops', enabled: true, settings: { url: receiver.url }, secret: expect.stringMatching(/^whsec_/) });
    receiver.secrets.push(channel.secret);
    const listed = await cli('channels', 'list', '--json');
    expect(listed.data).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(channel.secret);

    const tested = await cli('channels', 'test', channel.id, '--json');
    expect(tested).toMatchObject({ outcome: 'sent', status: 200, webhookId: expect.stringMatching(/^msg_/) });
    expect(receiver.deliveries).toEqual([expect.objectContaining({ id: tested.webhookId, verified: true, body: expect.objectContaining({ type: 'alert.test' }) })]);

    const route = await cli('channels', 'route', channel.id, '--severity', 'high', '--source', 'budget', '--json');
    expect(route).toMatchObject({ channelId: channel.id, minSeverity: 'high', source: 'budget', step: 0 });
    expect((await cli('channels', 'routes', '--json')).data).toHaveLength(1);

    const refused = await runCli(['channels', 'add', '--type', 'webhook', '--url', 'ftp://example.com/x'], env);
    expect(refused.code).toBe(2);
    expect((await cli('channels', 'remove', channel.id, '--json')).removed).toBe(true);
    expect((await cli('channels', 'routes', '--json')).data).toHaveLength(0);
  }, 150_000);

  it('lists alerts by state and severity, acknowledges, resolves and shows the history', async () => {
    const store = createAlertStore({ db: database.db, config: alertsSchema.parse({}) });
    const high = await store.raise({ fingerprint: 'cli:high', source: 'health', name: 'usage.flush_lag', severity: 'high', summary: 'Usage flush lag 90 s' });
    await store.raise({ fingerprint: 'cli:low', source: 'health', name: 'x', severity: 'low', summary: 'Low thing' });

    const active = await cli('alerts', 'list', '--active', '--severity', 'high', '--json');
    expect(active.data.map((a: { id: string }) => a.id)).toEqual([high.alertId]);
    expect(await cli('alerts', 'list', '--active')).toMatch(/Usage flush lag 90 s/);

    expect(await cli('alerts', 'ack', high.alertId, '--json')).toMatchObject({ state: 'acknowledged', ackedBy: expect.stringContaining('cli:') });
    const again = await runCli(['alerts', 'ack', high.alertId], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is already acknowledged.*\(conflict\)/);
    expect(await cli('alerts', 'resolve', high.alertId, '--json')).toMatchObject({ state: 'resolved' });
    expect((await cli('alerts', 'list', '--active', '--json')).data.map((a: { name: string }) => a.name)).toEqual(['x']);
    const history = await cli('alerts', 'history', high.alertId, '--json');
    expect(history.data.map((e: { kind: string }) => e.kind)).toEqual(['fired', 'acknowledged', 'resolved']);
  }, 150_000);
});
