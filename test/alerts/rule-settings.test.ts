// Alert rule settings changed at run time: a spend threshold set through a running gateway's admin
// API makes its evaluator raise health.spend_rate for spend that config's settings let pass, and
// removing the override resolves it; bad fields are a 400 naming them; changes are audited. Then
// `tollgate alert-rules list|set|reset` offline on a Postgres database.
import { createServer, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { createRuleSettingsReader, setRuleOverrides } from '../../src/alerts/rule-settings.js';
import { alertRulesSchema } from '../../src/alerts/rules-config.js';
import { openDatabase } from '../../src/db/database.js';
import { type AdminFixture, setupChange, startAdminFixture } from '../admin/support.js';
import { runCli } from '../helpers/processes.js';
import { chatStatus } from '../helpers/requests.js';
import { createTestDatabase, postgresAvailable } from '../helpers/services.js';

describe('alert rule settings in a running gateway', () => {
  let mock: MockUpstream;
  let f: AdminFixture;

  beforeAll(async () => {
    mock = await startMockUpstream();
    f = await startAdminFixture(mock, { overrides: { 'alertRules.evaluateIntervalMs': 200, 'alertRules.leaderTtlMs': 2_000, 'alertRules.analytics.enabled': false } });
  }, 60_000);

  afterAll(async () => {
    await f?.gw.close();
    await mock?.close();
  });

  const spendAlerts = async (state: string) => ((await f.call('GET', `/alerts?source=health&state=${state}`, f.tokens.admin)).body.data as Array<{ name: string; figures: Record<string, unknown> }>).filter((a) => a.name === 'health.spend_rate');

  it('raises a spend alert once a threshold is set through the API and resolves it when the override is dropped', async () => {
    const listed = await f.call('GET', '/alert-rules', f.tokens.viewer);
    expect(listed.status, listed.text).toBe(200);
    const health = listed.body.data.find((r: { name: string }) => r.name === 'health');
    expect(health).toMatchObject({ settings: { enabled: true, windowMs: 300_000, spendMicrosPerWindow: null }, sources: { windowMs: 'config', spendMicrosPerWindow: 'config' }, updatedBy: null });

    // Spend under config's settings (no spend threshold): several evaluations pass with no alert.
    expect(await chatStatus(f.gw.url, f.gw.key)).toBe(200);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await spendAlerts('firing')).toEqual([]);

    const badValue = await f.call('PUT', '/alert-rules/health', f.tokens.admin, { spendMicrosPerWindow: 'lots' });
    expect(badValue.status).toBe(400);
    expect(badValue.body.error).toMatchObject({ code: 'invalid_request', param: 'spendMicrosPerWindow', message: expect.stringContaining('body.spendMicrosPerWindow') });
    const unknown = await f.call('PUT', '/alert-rules/health', f.tokens.admin, { errorRate: 0.2, spendPerDay: 5 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('spendPerDay');
    expect((await f.call('PUT', '/alert-rules/nope', f.tokens.admin, { enabled: false })).status).toBe(404);
    expect((await f.call('PUT', '/alert-rules/toString', f.tokens.admin, { enabled: false })).status).toBe(404);
    expect((await f.call('PUT', '/alert-rules/health', f.tokens.admin, JSON.parse('{"__proto__": {"enabled": false}}'))).status).toBe(400);

    const set = await f.call('PUT', '/alert-rules/health', f.tokens.admin, { spendMicrosPerWindow: 1 });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({ name: 'health', settings: { spendMicrosPerWindow: 1, windowMs: 300_000 }, sources: { spendMicrosPerWindow: 'override', windowMs: 'config' }, updatedBy: expect.stringContaining('admin_key:') });

    await expect.poll(async () => (await spendAlerts('firing')).length, { timeout: 15_000, interval: 200 }).toBe(1);
    const [firing] = await spendAlerts('firing');
    expect(firing!.figures).toMatchObject({ thresholdMicros: 1, costMicros: expect.any(Number) });
    expect(firing!.figures.costMicros as number).toBeGreaterThanOrEqual(1);

    const reset = await f.call('DELETE', '/alert-rules/health', f.tokens.admin);
    expect(reset.status, reset.text).toBe(200);
    expect(reset.body).toMatchObject({ settings: { spendMicrosPerWindow: null }, sources: { spendMicrosPerWindow: 'config' } });
    await expect.poll(async () => (await spendAlerts('resolved')).length, { timeout: 15_000, interval: 200 }).toBe(1);
    expect(await spendAlerts('firing')).toEqual([]);

    const audit = await f.call('GET', '/audit?resourceType=alert_rule', f.tokens.admin);
    expect(audit.status, audit.text).toBe(200);
    expect(audit.body.data.map((e: { action: string }) => e.action)).toEqual(['alert_rule.reset', 'alert_rule.update']);
    expect(audit.body.data[1]).toMatchObject({ resourceId: 'health', before: { spendMicrosPerWindow: null }, after: { spendMicrosPerWindow: 1 } });
  }, 90_000);
});

const ready = await postgresAvailable();

describe.skipIf(!ready)('tollgate alert-rules', () => {
  let drop: () => Promise<void>;
  let env: Record<string, string>;
  let url: string;

  beforeAll(async () => {
    const created = await createTestDatabase('alert_rule_cli');
    drop = created.drop;
    url = created.url;
    env = { DATABASE_URL: created.url };
    expect((await runCli(['migrate'], env)).code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await drop?.();
  });

  it('lists, sets, refuses a bad value naming the field, and resets', async () => {
    const cli = async (...args: string[]) => {
      const result = await runCli(args, env);
      expect(result.code, result.stderr).toBe(0);
      return args.includes('--json') ? JSON.parse(result.stdout) : result.stdout;
    };
    const before = await cli('alert-rules', 'list', '--json');
    expect(before.data.map((r: { name: string }) => r.name)).toEqual(['health', 'analytics']);

    const set = await cli('alert-rules', 'set', 'health', '--errorRate', '0.5', '--windowMs', '60000', '--enabled', 'true', '--json');
    expect(set).toMatchObject({ settings: { errorRate: 0.5, windowMs: 60_000, minRequests: 20 }, sources: { errorRate: 'override', windowMs: 'override', enabled: 'override', minRequests: 'config' } });
    const table = await cli('alert-rules', 'list');
    expect(table).toMatch(/health\s+errorRate\s+0\.5\s+override/);
    expect(table).toMatch(/health\s+minRequests\s+20\s+config/);

    const refused = await runCli(['alert-rules', 'set', 'health', '--errorRate', '2'], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('errorRate');
    expect((await runCli(['alert-rules', 'set', 'health'], env)).code).toBe(2);

    const reset = await cli('alert-rules', 'reset', 'health', '--json');
    expect(reset).toMatchObject({ settings: { errorRate: 0.1, windowMs: 300_000 }, sources: { errorRate: 'config', windowMs: 'config' } });
  }, 150_000);

  it("the evaluator's reader sees a stored override, and a Postgres that never answers costs it at most its wait", async () => {
    const config = alertRulesSchema.parse({ health: { errorRate: 0.3 } });
    const logger = pino({ level: 'silent' });
    const database = await openDatabase({ databaseUrl: url, dataDir: '' });
    try {
      await setRuleOverrides(database.db, setupChange, config, 'health', { p99LatencyMs: 2_500 });
      const reader = createRuleSettingsReader(database.db, config, logger);
      expect(reader.current().health.p99LatencyMs).toBe(10_000);
      await reader.refresh();
      expect(reader.current().health).toMatchObject({ p99LatencyMs: 2_500, errorRate: 0.3 });
    } finally {
      await database.close();
    }

    // A server that accepts connections and never says a word: the driver would wait forever.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const stuck = await openDatabase({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/none`, dataDir: '' });
    try {
      const reader = createRuleSettingsReader(stuck.db, config, logger, 300);
      const startedMs = performance.now();
      await reader.refresh();
      await reader.refresh();
      expect(performance.now() - startedMs).toBeLessThan(2_000);
      expect(reader.current().health).toMatchObject({ p99LatencyMs: 10_000, errorRate: 0.3 });
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await stuck.close().catch(() => {});
    }
  }, 60_000);
});
