// Issue #12's health acceptance: two gateways on Redis and a Postgres of the test's own, under a
// trickle of requests while that Postgres is stopped. The replica holding the evaluator lock (one
// only) sees the usage ledger fall behind and Postgres unreachable during the outage; the alert
// store lives in that Postgres, so the alerts are stored when it returns, with the first-seen time
// of the outage, then resolved once the flusher catches up, and both the firing and the resolved
// notices are delivered to the channel.
import { Redis } from 'ioredis';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { createOwnPostgres, ownPostgresProblem, type OwnPostgres } from '../helpers/own-postgres.js';
import { type GatewayProcess, runCli, spawnGateway } from '../helpers/processes.js';
import { redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';
import { available, sleep } from './support.js';

const ready = (await redisAvailable()) && available('a throwaway Postgres server', ownPostgresProblem());
const outageMs = 8_000;

interface AlertRow {
  id: string;
  fingerprint: string;
  state: string;
  first_seen_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
}

describe.skipIf(!ready)('health alerts while Postgres is stopped', () => {
  let own: OwnPostgres;
  let mock: MockUpstream;
  let env: Record<string, string>;
  let prefix: string;
  const gateways: GatewayProcess[] = [];

  const query = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> => {
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    own = await createOwnPostgres();
    const admin = new pg.Client({ connectionString: own.adminUrl });
    await admin.connect();
    await admin.query('create database tollgate');
    await admin.end();
    mock = await startMockUpstream();
    prefix = uniquePrefix('alertspg');
    env = {
      DATABASE_URL: own.adminUrl.replace(/\/postgres$/, '/tollgate'),
      REDIS_URL: redisUrl,
      TOLLGATE_REDIS_KEY_PREFIX: prefix,
      OPENAI_BASE_URL: `${mock.url}/v1`,
      OPENAI_API_KEY: 'sk-upstream',
      TOLLGATE_BUDGET__BUDGETS: JSON.stringify([{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'total', limit: 100_000_000 }]),
      TOLLGATE_USAGE__FLUSH_INTERVAL_MS: '50',
      TOLLGATE_USAGE__ORG_REFRESH_MS: '500',
      TOLLGATE_USAGE__MONITOR_INTERVAL_MS: '250',
      TOLLGATE_USAGE__RETRY_MAX_MS: '500',
      TOLLGATE_ALERTS__DELIVERY__POLL_INTERVAL_MS: '100',
      TOLLGATE_ALERT_RULES__EVALUATE_INTERVAL_MS: '250',
      TOLLGATE_ALERT_RULES__LEADER_TTL_MS: '2000',
      TOLLGATE_ALERT_RULES__HEALTH__FLUSH_LAG_MS: '2000',
    };
    const migrated = await runCli(['migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    // One console channel for every alert: the outbox rows and their delivery are what is checked.
    await query(`insert into alert_channels (id, name, type) values ('chn_console', 'ops log', 'console')`);
    await query(`insert into alert_routes (id, channel_id, min_severity) values ('rte_all', 'chn_console', 'low')`);
    for (let i = 0; i < 2; i++) gateways.push(await spawnGateway(env));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await mock?.close();
    const redis = new Redis(redisUrl);
    const keys = prefix ? await redis.keys(`${prefix}*`) : [];
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    own?.destroy();
  });

  it('raises the flush-lag and Postgres alerts with first-seen times inside the outage, resolves them after it, and delivers both notices', { timeout: 90_000 }, async () => {
    const created = await runCli(['keys', 'create', '--org', 'acme-alerts', '--user', 'loader', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { key } = JSON.parse(created.stdout) as { key: string };
    let n = 0;
    const send = async () => {
      const res = await request(`${gateways[n++ % 2]!.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: `hello ${n} [mock chunks=2]` }] }),
      });
      await res.body.text();
      return res.statusCode;
    };
    for (let i = 0; i < 4; i++) expect(await send()).toBe(200);
    await sleep(1_500);
    expect(await query(`select fingerprint from alerts where source = 'health' and fingerprint in ('health:usage_flush_lag', 'health:unreachable:postgres')`)).toEqual([]);

    const gauge = async (url: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await request(`${url}/metrics`)).body.text())?.[1]);
    const down = Date.now();
    own.stop();
    // Late in the outage: one evaluator across both replicas, holding the alert writes it could not make.
    const scrapeAtMs = down + outageMs - 1_500;
    let leaderGauges: number[] = [];
    let pending: number[] = [];
    while (Date.now() - down < outageMs) {
      expect(await send()).toBe(200);
      if (leaderGauges.length === 0 && Date.now() >= scrapeAtMs) {
        leaderGauges = await Promise.all(gateways.map((g) => gauge(g.url, 'tollgate_alert_evaluator_leader')));
        pending = await Promise.all(gateways.map((g) => gauge(g.url, 'tollgate_alert_rule_writes_pending')));
      }
      await sleep(200);
    }
    expect(leaderGauges.sort()).toEqual([0, 1]);
    expect(Math.max(...pending)).toBeGreaterThanOrEqual(2);
    const up = Date.now();
    own.start();

    // Stored once Postgres is back, then resolved once the ledger has caught up.
    const deadline = Date.now() + 40_000;
    let rows: AlertRow[] = [];
    while (Date.now() < deadline) {
      rows = await query<AlertRow>(`select id, fingerprint, state, first_seen_at, resolved_at, resolved_by from alerts where fingerprint in ('health:usage_flush_lag', 'health:unreachable:postgres') order by fingerprint`).catch(() => []);
      if (rows.length === 2 && rows.every((r) => r.state === 'resolved')) break;
      await sleep(250);
    }
    const [unreachable, lag] = [rows.find((r) => r.fingerprint === 'health:unreachable:postgres'), rows.find((r) => r.fingerprint === 'health:usage_flush_lag')];
    process.stdout.write(
      `alerts-postgres-down: outage ${new Date(down).toISOString()}..${new Date(up).toISOString()}; ` +
        `flush lag first seen +${lag ? lag.first_seen_at.getTime() - down : '?'} ms, resolved +${lag?.resolved_at ? lag.resolved_at.getTime() - up : '?'} ms after the return; ` +
        `postgres unreachable first seen +${unreachable ? unreachable.first_seen_at.getTime() - down : '?'} ms\n`,
    );
    expect(rows).toHaveLength(2);
    for (const row of [lag!, unreachable!]) {
      expect(row).toMatchObject({ state: 'resolved', resolved_by: 'system:cleared' });
      expect(row.first_seen_at.getTime()).toBeGreaterThanOrEqual(down);
      expect(row.first_seen_at.getTime()).toBeLessThan(up);
      expect(row.resolved_at!.getTime()).toBeGreaterThanOrEqual(up);
    }
    // The lag alert waited for the ledger: usage_flush_lag fires past 2 s of lag, so not at once.
    expect(lag!.first_seen_at.getTime() - down).toBeGreaterThanOrEqual(2_000);

    // One alert per condition, whichever replica evaluated, and each notice delivered once.
    const counts = await query<{ fingerprint: string; n: number }>(`select fingerprint, count(*)::int as n from alerts where source = 'health' group by fingerprint`);
    for (const c of counts) expect(c.n, c.fingerprint).toBe(1);
    let notices: Array<{ alert_id: string; event: string; state: string }> = [];
    const sentBy = Date.now() + 10_000;
    while (Date.now() < sentBy) {
      notices = await query(`select alert_id, event, state from notification_outbox where alert_id = any($1) order by id`, [[lag!.id, unreachable!.id]]);
      if (notices.length === 4 && notices.every((o) => o.state === 'sent')) break;
      await sleep(200);
    }
    expect(notices.filter((o) => o.alert_id === lag!.id).map((o) => `${o.event}:${o.state}`)).toEqual(['firing:sent', 'resolved:sent']);
    expect(notices.filter((o) => o.alert_id === unreachable!.id).map((o) => `${o.event}:${o.state}`)).toEqual(['firing:sent', 'resolved:sent']);

    // Exactly one replica took the evaluator lock.
    const leaders = gateways.filter((g) => g.output().includes('this replica evaluates the rules'));
    expect(leaders).toHaveLength(1);
  });
});
