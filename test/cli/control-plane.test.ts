// The real `tollgate` binary against two running gateways sharing Redis and Postgres: offline
// commands on the database, online ones through the admin API (TOLLGATE_URL), and a deactivation
// made through one replica taking effect on both within a second.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { type GatewayProcess, runCli } from '../helpers/processes.js';
import { postgresAvailable, redisAvailable } from '../helpers/services.js';
import { chatStatus } from '../helpers/requests.js';

const ready = (await redisAvailable()) && (await postgresAvailable());
const adminKey = 'tga-test-bootstrap-key-0123456789abcdef';

describe.skipIf(!ready)('tollgate CLI against running gateways', () => {
  let cluster: Cluster;
  let env: Record<string, string>;
  let online: Record<string, string>;
  let gateways: GatewayProcess[];

  beforeAll(async () => {
    cluster = await startCluster('cli_control', 2, { TOLLGATE_ADMIN_KEY: adminKey });
    ({ env, gateways } = cluster);
    online = { ...env, TOLLGATE_URL: gateways[0]!.url };
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const chat = (url: string, key: string) => chatStatus(url, key);

  const cli = async (args: string[], environment = online) => {
    const result = await runCli(args, environment);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };

  // Each step starts the CLI as its own process (seconds of start-up on a busy two-core box).
  it('bootstraps offline, then manages users and budgets through the admin API', async () => {
    await cli(['orgs', 'create', 'default'], env);
    await cli(['teams', 'create', '--name', 'research'], env);
    const user = JSON.parse(await cli(['users', 'create', '--name', 'alice', '--team', 'research', '--json'])) as { id: string; teamId: string };
    const budget = JSON.parse(await cli(['budgets', 'set', '--user', 'alice', '--metric', 'cost', '--window', 'month', '--limit', '12.5', '--warn', '70', '--json']));
    expect(budget).toMatchObject({ scope: 'user', scopeId: user.id, metric: 'costMicros', limit: 12_500_000, warnPct: 70 });
    const applied = JSON.parse(await cli(['budgets', 'apply-template', 'power_user', '--team', 'research', '--json'])) as { data: unknown[] };
    expect(applied.data).toEqual([
      expect.objectContaining({ scope: 'team', scopeId: user.teamId, window: 'day', limit: 20_000, warnPct: 85, criticalPct: 95 }),
      expect.objectContaining({ window: 'month', limit: 600_000 }),
      expect.objectContaining({ window: 'total', limit: 2_000_000 }),
    ]);
    const table = await cli(['budgets', 'list', '--team', 'research']);
    expect(table.split('\n')[0]).toMatch(/^id\s+scope\s+scopeId\s+metric\s+window\s+limit/);
  }, 120_000);

  it('stops every key of a user deactivated through one replica on both replicas within a second', async () => {
    const { key } = JSON.parse(await cli(['keys', 'create', '--user', 'alice', '--json'], env)) as { key: string };
    for (const g of gateways) await expect.poll(() => chat(g.url, key), { timeout: 1_000, interval: 50 }).toBe(200);
    await cli(['users', 'deactivate', 'alice']);
    const deactivatedAt = performance.now();
    for (const g of gateways) await expect.poll(() => chat(g.url, key), { timeout: 1_000, interval: 25 }).toBe(401);
    expect(performance.now() - deactivatedAt).toBeLessThan(1_000);
  }, 120_000);

  it('records who changed what in the audit log, attributing API changes to the admin key', async () => {
    const page = JSON.parse(await cli(['audit', 'list', '--action', 'user.deactivate', '--json'])) as { data: Array<Record<string, any>> };
    expect(page.data[0]).toMatchObject({ action: 'user.deactivate', actorType: 'admin_key', before: { active: true }, after: { active: false } });
    const csv = await cli(['audit', 'export']);
    expect(csv.split('\n')[0]).toBe('id,at,requestId,actorType,actorId,actorRole,action,resourceType,resourceId,orgId,before,after');
    expect(csv).not.toMatch(/tg-[A-Za-z0-9_-]{43}/);
  }, 120_000);

  it('reports a wrong admin token with exit code 1 and the error code', async () => {
    const result = await runCli(['users', 'list'], { ...online, TOLLGATE_ADMIN_KEY: 'tga-wrong' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('admin_unauthorized');
  }, 120_000);

  it('imports users from CSV, reporting each bad row while creating the good ones', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'tg-csv-')), 'users.csv');
    writeFileSync(file, 'name,email,team,role\nbob,bob@example.com,research,\n,nobody@example.com,,\ncarl,,no-such-team,\ndora,,,wizard\n');
    const result = await runCli(['users', 'import', file, '--json'], online);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      created: 1,
      failed: 3,
      results: [
        { row: 2, name: 'bob', status: 'created' },
        { row: 3, status: 'failed', error: 'name is required' },
        { row: 4, name: 'carl', status: 'failed', error: expect.stringContaining('no-such-team') },
        { row: 5, name: 'dora', status: 'failed', error: expect.stringContaining('role') },
      ],
    });
  }, 120_000);
});
