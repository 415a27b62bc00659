// Request-path latency with Postgres up and then stopped, in the same run: the gateway must not
// notice (DESIGN: nothing on the hot path waits for Postgres). One `tollgate serve` process with
// budgets in Redis and a throwaway Postgres server of its own (never the shared one), paced load
// at a fixed rate; prints p50/p99 for both phases, their ratio, and how long the ledger took to
// catch up once Postgres was back.
// Run by hand, as root (Postgres runs as the postgres user): `node --import ./bin/typescript.js bench/outage.ts`
// (REDIS_URL, default redis://127.0.0.1:6379, with a key prefix of its own; RATE, default 100/s;
// PHASE_SECONDS, default 10).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Pool } from 'undici';
import { startMockUpstream } from './mock-upstream.js';
import { createOwnPostgres, ownPostgresProblem } from '../test/helpers/own-postgres.js';
import { runCli, spawnGateway } from '../test/helpers/processes.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const rate = Number(process.env.RATE ?? 100);
const phaseMs = Number(process.env.PHASE_SECONDS ?? 10) * 1_000;
const workers = 8;

const problem = ownPostgresProblem();
if (problem) {
  process.stdout.write(`outage bench skipped: cannot run a throwaway Postgres (${problem})\n`);
  process.exit(0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

const own = await createOwnPostgres();
const mock = await startMockUpstream();
const prefix = `tgbench:outage:${randomBytes(4).toString('hex')}:`;
const redis = new Redis(redisUrl);
let stopGateway = async () => {};
try {
  const admin = new pg.Client({ connectionString: own.adminUrl });
  await admin.connect();
  await admin.query('create database tollgate');
  await admin.end();
  const databaseUrl = own.adminUrl.replace(/\/postgres$/, '/tollgate');
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    TOLLGATE_REDIS_KEY_PREFIX: prefix,
    OPENAI_BASE_URL: `${mock.url}/v1`,
    OPENAI_API_KEY: 'sk-upstream',
    TOLLGATE_BUDGET__BUDGETS: JSON.stringify([{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'total', limit: 1_000_000_000 }]),
    TOLLGATE_USAGE__FLUSH_INTERVAL_MS: '50',
    TOLLGATE_USAGE__RETRY_MAX_MS: '500',
  };
  const check = async (what: string, run: Promise<{ code: number | null; stderr: string; stdout: string }>) => {
    const result = await run;
    if (result.code !== 0) throw new Error(`${what} failed: ${result.stderr}`);
    return result.stdout;
  };
  await check('migrate', runCli(['migrate'], env));
  const { key, orgId } = JSON.parse(await check('keys create', runCli(['keys', 'create', '--org', 'bench', '--user', 'bench', '--json'], env))) as { key: string; orgId: string };
  const gateway = await spawnGateway({ ...env, LOG_LEVEL: 'info' });
  stopGateway = async () => void (await gateway.stop());
  const pool = new Pool(gateway.url, { connections: workers });
  const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Benchmark. [mock chunks=5 prompt_tokens=9]' }] });
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  let sent = 0;

  // Open-loop load at `rate` per second for durationMs: request i is due at t0 + i / rate.
  async function phase(durationMs: number): Promise<{ sorted: number[]; errors: number }> {
    const latencies: number[] = [];
    let errors = 0;
    let next = 0;
    const t0 = performance.now();
    const total = Math.round((durationMs / 1000) * rate);
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (let i = next++; i < total; i = next++) {
          const wait = t0 + (i * 1000) / rate - performance.now();
          if (wait > 0) await sleep(wait);
          const started = performance.now();
          const res = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers, body });
          await res.body.text();
          latencies.push(performance.now() - started);
          sent++;
          if (res.statusCode !== 200) errors++;
        }
      }),
    );
    return { sorted: latencies.sort((a, b) => a - b), errors };
  }

  await phase(3_000); // warm-up: JIT, tokenizer, connections
  const up = await phase(phaseMs);
  own.stop();
  const down = await phase(phaseMs);
  const restartedAt = performance.now();
  own.start();
  const ledger = new pg.Client({ connectionString: databaseUrl });
  await ledger.connect();
  let rows = 0;
  while (performance.now() - restartedAt < 60_000) {
    rows = (await ledger.query<{ n: number }>('select count(*)::int as n from usage_events where org_id = $1', [orgId])).rows[0]!.n;
    if (rows >= sent) break;
    await sleep(100);
  }
  const caughtUpMs = performance.now() - restartedAt;
  await ledger.end();
  await pool.close();

  const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
  const line = (name: string, p: { sorted: number[]; errors: number }) =>
    `${name.padEnd(14)} ${String(p.sorted.length).padStart(6)} req  errors ${p.errors}  p50 ${fmt(percentile(p.sorted, 0.5)).padStart(9)}  p99 ${fmt(percentile(p.sorted, 0.99)).padStart(9)}  max ${fmt(p.sorted.at(-1)!).padStart(9)}`;
  process.stdout.write(`gateway latency at ${rate} req/s (${workers} connections, non-streaming chat, budgets in Redis)\n`);
  process.stdout.write(`${line('postgres up', up)}\n${line('postgres down', down)}\n`);
  process.stdout.write(
    `ratio down/up  p50 ${(percentile(down.sorted, 0.5) / percentile(up.sorted, 0.5)).toFixed(2)}  p99 ${(percentile(down.sorted, 0.99) / percentile(up.sorted, 0.99)).toFixed(2)}\n`,
  );
  process.stdout.write(`ledger: ${rows} of ${sent} requests recorded, ${(caughtUpMs / 1000).toFixed(1)} s after Postgres restarted\n`);
  if (up.errors + down.errors > 0 || rows !== sent) process.exitCode = 1;
} finally {
  await stopGateway();
  await mock.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  own.destroy();
}
