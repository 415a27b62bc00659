// The real `tollgate` binary on Postgres and Redis: chargeback metadata set with `users metadata` /
// `teams metadata` and in bulk with `users import-metadata` (read back by `users export-metadata`),
// and `tollgate status`: a key holder's own standing and an admin's view of the same user with
// --user, both equal to the ledger, the budget shown with its limit and reset.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { runCli, spawnGateway } from '../helpers/processes.js';
import { postgresAvailable, redisAvailable } from '../helpers/services.js';
import { makeEvent } from '../usage/support.js';

const ready = (await redisAvailable()) && (await postgresAvailable());
const adminKey = 'tga-test-bootstrap-key-cli-chargeback-0123456789';

describe.skipIf(!ready)('tollgate chargeback metadata and status', { timeout: 240_000 }, () => {
  let cluster: Cluster;
  let alice: { key: string; id: string; orgId: string; teamId: string | null; userId: string };
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-cb-'));
  const nowMs = Date.now();
  const costs = [1_500_000, 2_250_000, 3_000_001];

  beforeAll(async () => {
    cluster = await startCluster('cli_chargeback', 0, { TOLLGATE_ADMIN_KEY: adminKey });
    cluster.gateways.push(await spawnGateway(cluster.env, 120_000));
    alice = await cluster.key('alice', ['--team', 'research']);
    const database = await openDatabase({ databaseUrl: cluster.databaseUrl, dataDir: '' });
    // Today's usage (a few minutes ago), and one event two days back in the same month when there is one.
    const events: UsageEvent[] = costs.map((costMicros, i) =>
      makeEvent(i, { requestId: `st${i}`, timeMs: nowMs - (i + 1) * 1_000, orgId: alice.orgId, teamId: alice.teamId, userId: alice.userId, keyId: alice.id, costMicros, tags: {} }),
    );
    expect((await writeUsageEvents(database.db, events)).rejected).toEqual([]);
    await database.close();
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = async (args: string[], env: Record<string, string> = cluster.env) => {
    const result = await runCli(args, env);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };

  it('sets metadata with flags and a CSV file, and exports it back', async () => {
    const user = JSON.parse(await cli(['users', 'metadata', 'alice', '--department', 'Research', '--cost-center', 'CC-100', '--label', 'env=prod', '--label', 'owner=kim', '--json']));
    expect(user).toMatchObject({ department: 'Research', costCenter: 'CC-100', labels: { env: 'prod', owner: 'kim' } });
    const usage = await runCli(['users', 'metadata', 'alice', '--label', 'broken'], cluster.env);
    expect(usage.code).toBe(2);

    const file = join(dir, 'meta.csv');
    writeFileSync(file, 'type,name,department,cost_center,label:owner\nteam,research,R&D,CC-900,\nuser,alice,,CC-101,\n');
    const imported = JSON.parse(await cli(['users', 'import-metadata', file, '--json']));
    expect(imported).toMatchObject({ updated: 2, failed: 0 });
    const exported = await cli(['users', 'export-metadata']);
    expect(exported).toContain('team,research,R&D,CC-900');
    // An empty cell clears: alice's department and owner label are gone, env stays.
    expect(exported).toContain('type,name,department,cost_center,label:env\n');
    expect(exported).toContain('user,alice,,CC-101,prod\n');
  });

  it("shows a key holder's own standing and an admin's view of the same user, equal to the ledger", async () => {
    await cli(['budgets', 'set', '--user', 'alice', '--metric', 'costMicros', '--window', 'month', '--limit', '100000000']);
    const total = costs.reduce((a, b) => a + b, 0);
    const online = { ...cluster.env, TOLLGATE_URL: cluster.gateways[0]!.url };
    // The budget reaches the gateway within a second.
    await expect
      .poll(async () => JSON.parse(await cli(['status', '--json'], { ...online, TOLLGATE_KEY: alice.key })).budgets.some((b: any) => b.metric === 'costMicros'), { timeout: 20_000 })
      .toBe(true);
    const own = JSON.parse(await cli(['status', '--json'], { ...online, TOLLGATE_KEY: alice.key }));
    expect(own.user_id).toBe(alice.userId);
    expect(own.today.cost_micros).toBe(total);
    expect(own.month.cost_micros).toBe(total);
    expect(own.budgets).toEqual(expect.arrayContaining([expect.objectContaining({ scope: 'user', metric: 'costMicros', window: 'month', limit: 100_000_000 })]));
    expect(own.forecast.month_end_p50_micros).toBeGreaterThanOrEqual(total);
    expect(own.forecast.limit_micros).toBe(100_000_000);

    const seen = JSON.parse(await cli(['status', '--user', 'alice', '--json'], { ...online, TOLLGATE_ADMIN_KEY: adminKey }));
    expect(seen.user_id).toBe(alice.userId);
    expect(seen.today.cost_micros).toBe(total);
    expect(seen.month.cost_micros).toBe(total);
    expect(seen.budgets).toEqual(expect.arrayContaining([expect.objectContaining({ scope: 'user', metric: 'costMicros', window: 'month', limit: 100_000_000, used: total })]));

    const text = await cli(['status'], { ...online, TOLLGATE_KEY: alice.key });
    expect(text).toContain(`month from ${own.month.from}: ${costs.length} requests`);
    expect(text).toMatch(/month-end forecast \([a-z-]+\): P10 \$/);

    const refused = await runCli(['status'], { ...cluster.env, TOLLGATE_URL: cluster.gateways[0]!.url, TOLLGATE_KEY: '' });
    expect(refused.code).toBe(2);
  });
});
