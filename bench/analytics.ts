// Analytics at scale: seeds 10,000,000 usage events over 90 days for one org (plain SQL into the
// monthly partitions, then every rollup the flusher would have written, a UTC day at a time), and
// times a month report, the report's usage queries by team and by model, and a usage query by day
// (p50/p99 over repeated runs), in UTC and in Asia/Kolkata (+05:30 days never line up with UTC
// hours: the team level 15-minute rollups split them). Ends with the targets, met or missed.
// Run by hand: `node --import ./bin/typescript.js bench/analytics.ts` (DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/test; EVENTS, default 10000000; KEEP=1 keeps the database).
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { analyse } from '../src/analytics/analyse.js';
import { queryUsage, type UsageQuery } from '../src/analytics/query.js';
import { buildReport } from '../src/analytics/report-data.js';
import { everything } from '../src/control/visibility.js';
import { openDatabase } from '../src/db/database.js';
import { rollupInsert } from '../src/usage/ledger.js';
import { createPartitions, monthOf } from '../src/usage/partitions.js';
import { rollupTables } from '../src/usage/rollup-tables.js';

const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const events = Number(process.env.EVENTS ?? 10_000_000);
const chunk = 1_000_000;
const startIso = '2026-08-01T00:00:00Z';
const days = 90;
const orgId = 'org_bench';

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(text);
  await client.end();
}

const seconds = (fromMs: number) => ((performance.now() - fromMs) / 1000).toFixed(1);
const log = (line: string) => process.stdout.write(`${line}\n`);

const name = `tollgate_bench_analytics_${randomBytes(3).toString('hex')}`;
await admin(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '', poolSize: 4 });
const db = database.db;
const run = async (q: ReturnType<typeof sql>) => ((await db.execute(q)) as unknown as { rows: Array<Record<string, unknown>> }).rows;

try {
  await database.migrate();
  await run(sql`insert into orgs (id, name) values (${orgId}, 'bench')`);
  for (let t = 0; t < 20; t++) await run(sql`insert into teams (id, org_id, name) values (${`team_${t}`}, ${orgId}, ${`team ${t}`})`);

  const startMs = Date.parse(startIso);
  await createPartitions(db, Array.from({ length: 4 }, (_, i) => monthOf(startMs + i * 31 * 86_400_000)));
  // Secondary indexes are built once after the load (the same end state, minutes faster); dropping
  // the partitioned table's index drops each partition's copy.
  const indexes = (await run(sql`select indexname, indexdef from pg_indexes where tablename = 'usage_events' and indexname <> 'usage_events_pkey'`)) as Array<{ indexname: string; indexdef: string }>;
  for (const i of indexes) await run(sql.raw(`drop index ${i.indexname}`));
  const seedStarted = performance.now();
  // 1,000 keys of 500 users in 20 teams, 6 models of 2 providers, times in ascending order.
  for (let from = 0; from < events; from += chunk) {
    const to = Math.min(events, from + chunk) - 1;
    await run(sql`
      insert into usage_events (request_id, time, org_id, team_id, user_id, key_id, provider, model, prompt_tokens, cached_tokens,
        completion_tokens, reasoning_tokens, cost_micros, status, error_code, stream, latency_ms, ttfb_ms, estimated, unmetered, session_id, tags)
      select 'r' || g, ${startIso}::timestamptz + (g::float8 / ${events}) * interval '${sql.raw(String(days))} days', ${orgId},
        'team_' || ((g * 7919 % 1000) / 2 % 20), 'user_' || ((g * 7919 % 1000) / 2), 'key_' || (g * 7919 % 1000),
        case when g % 6 < 4 then 'openai' else 'anthropic' end, 'model_' || (g % 6),
        200 + g % 3000, g % 500, 50 + g % 800, g % 7 * 10, 100 + g % 20000, case when g % 50 = 0 then 429 else 200 end,
        case when g % 50 = 0 then 'rate_limited' end, g % 2 = 0, 100 + g % 4000, 50, g % 20 = 0, false, null,
        jsonb_build_object('project', 'p' || (g % 5))
      from generate_series(${from}::bigint, ${to}::bigint) g`);
    log(`seeded ${to + 1} events (${seconds(seedStarted)} s)`);
  }
  for (const i of indexes) await run(sql.raw(i.indexdef));
  log(`indexes built (${seconds(seedStarted)} s)`);
  // A UTC day at a time: each statement's groups fit in memory (all 90 days at once spilled to
  // disk for many minutes), with the ledger's own statement for each rollup table.
  for (let day = 0; day < days; day++) {
    const from = new Date(startMs + day * 86_400_000).toISOString();
    const to = new Date(startMs + (day + 1) * 86_400_000).toISOString();
    for (const t of rollupTables) await run(rollupInsert(t, sql`usage_events where time >= ${from}::timestamptz and time < ${to}::timestamptz`));
    if (day % 30 === 29) log(`rollups of ${day + 1} days (${seconds(seedStarted)} s)`);
  }
  await run(sql`analyze`);
  const [counts] = await run(sql`select (select count(*) from usage_events) as events, (select count(*) from usage_rollups_hourly) as hourly, (select count(*) from usage_rollups_daily) as daily,
    (select count(*) from usage_rollups_team_15m) as team15m, (select count(*) from usage_rollups_team_hourly) as team_hourly, (select count(*) from usage_rollups_team_daily) as team_daily`);
  log(`seed done in ${seconds(seedStarted)} s: ${counts!.events} events; wide rollups ${counts!.hourly} hourly, ${counts!.daily} daily; team rollups ${counts!.team15m} 15-minute, ${counts!.team_hourly} hourly, ${counts!.team_daily} daily`);
  log(`load average when timing starts: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);

  const figures: Array<{ label: string; p50: number; p99: number }> = [];
  const time = async <T>(label: string, f: () => Promise<T>, repeat: number) => {
    const ms: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const started = performance.now();
      await f();
      ms.push(performance.now() - started);
    }
    ms.sort((a, b) => a - b);
    const at = (p: number) => ms[Math.min(ms.length - 1, Math.ceil(p * ms.length) - 1)]!.toFixed(0);
    figures.push({ label, p50: Number(at(0.5)), p99: Number(at(0.99)) });
    log(`${label.padEnd(72)} n=${String(repeat).padStart(3)}  p50 ${at(0.5).padStart(6)} ms  p99 ${at(0.99).padStart(6)} ms  max ${ms.at(-1)!.toFixed(0).padStart(6)} ms`);
  };
  const month = { from: '2026-09-01', to: '2026-09-30' };
  const base = (tz: string): Omit<UsageQuery, 'dimensions' | 'bucket'> => ({ ...month, tz, filters: { org: [orgId] }, source: 'auto', limit: 1_000 });
  for (const tz of ['UTC', 'Asia/Kolkata']) {
    const source = (await queryUsage(db, everything, { ...base(tz), dimensions: [], bucket: 'day' })).source;
    log(`\n${tz} (${source}):`);
    await time(`${tz}: usage query: a month by day`, () => queryUsage(db, everything, { ...base(tz), dimensions: [], bucket: 'day' }), 20);
    await time(`${tz}: usage query: a month by team`, () => queryUsage(db, everything, { ...base(tz), dimensions: ['team'], bucket: null }), 5);
    await time(`${tz}: usage query: a month by provider+model`, () => queryUsage(db, everything, { ...base(tz), dimensions: ['provider', 'model'], bucket: null }), 5);
    await time(`${tz}: analyse() alone (forecasts, anomalies, recommendations)`, () => analyse(db, orgId, { asOfMs: Date.parse('2026-09-30T23:59:59Z'), timeZone: tz }), 3);
    await time(`${tz}: month report of the org (5 queries + analyse)`, () => buildReport(db, everything, { orgId, ...month, tz, top: 10, nowMs: Date.parse('2026-11-01T00:00:00Z') }), 3);
    await time(`${tz}: month report of one team`, () => buildReport(db, everything, { orgId, teamId: 'team_3', ...month, tz, top: 10, nowMs: Date.parse('2026-11-01T00:00:00Z') }), 3);
  }
  // The issue's targets: a usage query by day under 200 ms at p99, a month report under 1 s.
  log('');
  for (const f of figures) {
    const target = f.label.includes('by day') ? { ms: 200, at: 'p99' as const } : f.label.includes('month report') ? { ms: 1_000, at: 'p50' as const } : null;
    if (!target) continue;
    const value = f[target.at];
    log(`target ${f.label}: ${target.at} ${value} ms < ${target.ms} ms (${(value / target.ms).toFixed(2)} of target): ${value < target.ms ? 'met' : 'missed'}`);
  }
} finally {
  await database.close();
  if (process.env.KEEP === '1') log(`kept database ${name}`);
  else await admin(`drop database if exists ${name} with (force)`);
}
