// `tollgate analytics` with the real binary on seeded Postgres: offline on the database and over
// HTTP through a running gateway's GET /admin/v1/analytics, the same figures either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, budgets, orgs, teams, users } from '../../drizzle/schema/index.js';
import type { Analysis } from '../../src/analytics/analyse.js';
import { addDays } from '../../src/analytics/days.js';
import { openDatabase } from '../../src/db/database.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { runCli } from '../helpers/processes.js';
import { postgresAvailable, redisAvailable } from '../helpers/services.js';
import { makeEvent } from '../usage/support.js';

const ready = (await redisAvailable()) && (await postgresAvailable());
const adminKey = 'tga-test-bootstrap-key-analytics-0123456789';
const dayMs = 86_400_000;

// Each case starts the CLI two or three times (seconds apiece on a busy machine).
describe.skipIf(!ready)('tollgate analytics', { timeout: 120_000 }, () => {
  let cluster: Cluster;
  const today = new Date().toISOString().slice(0, 10);
  const spikeDay = addDays(today, -2);

  beforeAll(async () => {
    cluster = await startCluster('cli_analytics', 1, { TOLLGATE_ADMIN_KEY: adminKey });
    const database = await openDatabase({ databaseUrl: cluster.databaseUrl, dataDir: '' });
    const d = database.db;
    await d.insert(orgs).values({ id: 'org_x', name: 'default' });
    await d.insert(teams).values({ id: 'team_x', orgId: 'org_x', name: 'research' });
    await d.insert(users).values({ id: 'usr_x', orgId: 'org_x', teamId: 'team_x', name: 'alice' });
    await d.insert(apiKeys).values([
      { id: 'key_x', orgId: 'org_x', userId: 'usr_x', name: 'main', hash: 'h1', prefix: 'p1', lastUsedAt: new Date() },
      { id: 'key_old', orgId: 'org_x', userId: 'usr_x', name: 'old', hash: 'h2', prefix: 'p2', createdAt: new Date(Date.now() - 90 * dayMs), lastUsedAt: new Date(Date.now() - 45 * dayMs) },
    ]);
    await d.insert(budgets).values({ id: 'bud_x', orgId: 'org_x', scope: 'team', scopeId: 'team_x', metric: 'costMicros', window: 'month', limit: 500_000_000 });
    // $2 a day for 40 days at 00:10 UTC, and $30 more on the spike day.
    const events: UsageEvent[] = [];
    const at = (day: string, minute: number, costMicros: number) =>
      events.push(makeEvent(events.length, { requestId: `a${events.length}`, timeMs: Date.parse(`${day}T00:00:00Z`) + minute * 60_000, orgId: 'org_x', teamId: 'team_x', userId: 'usr_x', keyId: 'key_x', model: 'gpt-4o', costMicros, tags: {} }));
    for (let i = 40; i >= 1; i--) at(addDays(today, -i), 10, 2_000_000);
    at(spikeDay, 20, 30_000_000);
    expect((await writeUsageEvents(d, events)).rejected).toEqual([]);
    await database.close();
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const cli = async (args: string[], env: Record<string, string>) => {
    const result = await runCli(args, env);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };

  it('prints forecasts, anomalies and recommendations offline, and the same figures over HTTP', async () => {
    const offline = JSON.parse(await cli(['analytics', '--json'], cluster.env)) as Analysis;
    const forecast = offline.forecasts!.find((f) => f.budgetId === 'bud_x')!;
    expect(forecast).toMatchObject({ scope: 'team', subjectId: 'team_x', forecast: { method: 'damped-trend-weekly', limitAmount: 500_000_000, runOutDay: null } });
    expect(offline.anomalies).toEqual(expect.arrayContaining([expect.objectContaining({ scope: 'user', scopeId: 'usr_x', day: spikeDay, actualAmount: 32_000_000 })]));
    expect(offline.recommendations!.map((r) => `${r.kind}:${r.subject.id}`)).toContain('idle_key:key_old');
    // The catalog reaches the route: gpt-4o's spend has a cheaper sibling.
    expect(offline.recommendations!.map((r) => r.kind)).toContain('cheaper_model');

    const online = { ...cluster.env, TOLLGATE_URL: cluster.gateways[0]!.url, TOLLGATE_ADMIN_KEY: adminKey };
    const remote = JSON.parse(await cli(['analytics', '--json'], online)) as Analysis;
    const { asOf: _a, ...offlineRest } = offline;
    const { asOf: _b, ...remoteRest } = remote;
    expect(remoteRest.anomalies).toEqual(offlineRest.anomalies);
    expect(remoteRest.recommendations).toEqual(offlineRest.recommendations);
    expect(remoteRest.forecasts!.map((f) => f.forecast.usedAmount)).toEqual(offlineRest.forecasts!.map((f) => f.forecast.usedAmount));
  });

  it('runs only the sections named and prints tables for people', async () => {
    const only = JSON.parse(await cli(['analytics', '--anomalies', '--json'], cluster.env)) as Analysis;
    expect(only.forecasts).toBeUndefined();
    expect(only.recommendations).toBeUndefined();
    expect(only.anomalies!.length).toBeGreaterThan(0);
    const text = await cli(['analytics', '--forecast', '--recommendations'], cluster.env);
    expect(text).toMatch(/^Forecasts \(1 budget subjects/);
    expect(text).toMatch(/team\s+team_x\s+costMicros\/month\s+\$\d+\.\d\d\s+\$500\.00/);
    expect(text).toContain('[idle_key] Key old has not been used for 45 days');
    expect(text).not.toContain('Anomalies');
  });

  it('refuses a malformed look-back with exit code 2', async () => {
    const result = await runCli(['analytics', '--lookback-days', 'many'], cluster.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--lookback-days must be a whole number');
  });
});
