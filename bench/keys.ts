// The principal cache at a million keys: seeds 1,000,000 keys (100,000 users) with SQL in a
// database of its own, starts one gateway on Redis + Postgres, and drives it on one connection for
// 60 s (mostly a hot set of keys, some cold ones) while other clients revoke and create keys
// through the control plane. The gateway listens once its filter of valid key hashes is built, and
// the run starts once /ready says so and the hot set is in the cache (each hot key authenticated
// once, GET /v1/models, as clients that were already using them): everything measured is after
// ready, and what it measures is the cache under maintenance, not its warm-up. Prints startup time, the
// slowest requests (total and the gateway's own x-tollgate-overhead-ms, split into a key's first
// use, which asks Postgres, and cache hits), whether the slowest stays within the issue's 50 ms,
// the gateway's GC pauses, how long a revocation and a creation take to reach the gateway, its RSS,
// and Postgres transactions per 10,000 requests with made-up keys, against the same idle interval
// as the baseline (pg_stat_database, so every query of every component counts).
// The gateway runs as the image runs it: compiled by scripts/build.mjs into a temporary folder.
// --loader runs the sources through the TypeScript loader instead, which costs ~75 MB of RSS more
// (the module hooks' own thread and the transpiled sources). The gateway inherits this process's
// environment: TOLLGATE_SERVER__HEAP_GROWING_PERCENT=0 shows the RSS at V8's own heap growth.
// Run: node --import ./bin/typescript.js bench/keys.ts [--keys 1000000] [--duration 60] [--loader]
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Pool } from 'undici';
import { createRedisInvalidationBus } from '../src/auth/invalidation.js';
import type { ChangeContext } from '../src/control/actor.js';
import { createApiKey, revokeApiKey } from '../src/control/keys.js';
import { openDatabase } from '../src/db/database.js';

const { values } = parseArgs({ options: { keys: { type: 'string', default: '1000000' }, duration: { type: 'string', default: '60' }, loader: { type: 'boolean', default: false } } });
const keyCount = Number(values.keys);
const userCount = Math.max(1, Math.floor(keyCount / 10));
const durationS = Number(values.duration);
const hotKeys = Math.min(10_000, keyCount);
// Revoked one by one during the run; the driver never uses them.
const revocable = Math.min(10_000, Math.floor(keyCount / 10));
const root = new URL('..', import.meta.url).pathname;
const ports = { mock: 19201, gateway: 19202 };
const postgresUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const benchDb = `tollgate_bench_keys_${process.pid}`;
const dbUrl = Object.assign(new URL(postgresUrl), { pathname: `/${benchDb}` }).toString();
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `tgbench:keys:${process.pid}:`;
const env = {
  OPENAI_BASE_URL: `http://127.0.0.1:${ports.mock}/v1`,
  OPENAI_API_KEY: 'sk-upstream',
  LOG_LEVEL: 'info',
  REDIS_URL: redisUrl,
  DATABASE_URL: dbUrl,
  TOLLGATE_REDIS_KEY_PREFIX: keyPrefix,
  TOLLGATE_SERVER__WORKERS: '1',
  PORT: String(ports.gateway),
};
const seedKey = (i: number): string => `tg-seed-${i}`;
const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves once stdout shows readyText; `captured` resolves with the first line matching `capture`
// (before or after that), and stdout is discarded once both are seen.
function start(args: string[], extraEnv: Record<string, string>, readyText: RegExp, capture = readyText): Promise<{ child: ChildProcess; captured: Promise<string> }> {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let partial = '';
  let ready = false;
  let seen = false;
  let capturedLine: ((line: string) => void) | undefined;
  const captured = new Promise<string>((resolve) => (capturedLine = resolve));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      const text = d.toString();
      if (!ready) out += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!seen && capture.test(line)) {
          seen = true;
          capturedLine!(line);
        }
        if (!ready && readyText.test(line)) {
          ready = true;
          resolve({ child, captured });
        }
      }
      if (ready && seen) {
        // Stop reading lines: per-request logs must not cost this process time.
        child.stdout!.off('data', onData);
        child.stdout!.resume();
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${out}`)));
  });
}

// scripts/build.mjs into a temporary folder with the production dependencies beside it, as in the image.
async function compiledGateway(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-build-'));
  cleanups.push(() => rmSync(outDir, { recursive: true, force: true }));
  await promisify(execFile)(process.execPath, [join(root, 'scripts/build.mjs'), outDir]);
  symlinkSync(join(root, 'node_modules'), join(outDir, 'node_modules'), 'dir');
  return join(outDir, 'bin/tollgate.js');
}

async function sqlOn(url: string, statement: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(statement);
  } finally {
    await client.end();
  }
}

const rssMb = (pid: number, field: 'VmRSS' | 'VmHWM'): number => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field))!;
  return Number(line.split(/\s+/)[1]) / 1024;
};

const transactions = async (): Promise<number> => {
  const { rows } = await sqlOn(postgresUrl, `select xact_commit + xact_rollback as n from pg_stat_database where datname = '${benchDb}'`);
  return Number(rows[0].n);
};

const gateway = new Pool(`http://127.0.0.1:${ports.gateway}`, { connections: 1 });

const scrape = async (): Promise<string> => (await (await probe.request({ method: 'GET', path: '/metrics' })).body.text());
const lagMaxMsOf = (text: string): number => Number(/^nodejs_eventloop_lag_max_seconds (\S+)/m.exec(text)?.[1] ?? Number.NaN) * 1000;
// Where the RSS is: V8's heap (used of allocated, and the largest spaces), memory outside it.
function memoryOf(text: string): string {
  const mb = (name: string): number => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  const spaces = [...text.matchAll(/^nodejs_heap_space_size_used_bytes\{space="([^"]+)"\} (\S+)/gm)]
    .map(([, space, bytes]) => ({ space: space!, usedMb: Number(bytes) / 2 ** 20 }))
    .sort((a, b) => b.usedMb - a.usedMb)
    .slice(0, 3);
  return `heap used ${mb('nodejs_heap_size_used_bytes').toFixed(0)} of ${mb('nodejs_heap_size_total_bytes').toFixed(0)} MB (${spaces.map((x) => `${x.space} ${x.usedMb.toFixed(0)}`).join(', ')}), external ${mb('nodejs_external_memory_bytes').toFixed(0)} MB`;
}
// GC pauses by kind: how many in all, and how many longer than 10 ms and 100 ms (the histogram's buckets).
function gcPausesOf(text: string): Record<string, { all: number; over10ms: number; over100ms: number }> {
  const out: Record<string, { all: number; over10ms: number; over100ms: number }> = {};
  for (const [, le, kind, n] of text.matchAll(/^nodejs_gc_duration_seconds_bucket\{le="([^"]+)",kind="([^"]+)"\} (\S+)/gm)) {
    const k = (out[kind!] ??= { all: 0, over10ms: 0, over100ms: 0 });
    if (le === '+Inf') k.all = Number(n);
    if (le === '0.01') k.over10ms = -Number(n);
    if (le === '0.1') k.over100ms = -Number(n);
  }
  for (const k of Object.values(out)) {
    k.over10ms += k.all;
    k.over100ms += k.all;
  }
  return out;
}
const gcDelta = (before: ReturnType<typeof gcPausesOf>, after: ReturnType<typeof gcPausesOf>): string =>
  Object.entries(after)
    .map(([kind, a]) => {
      const b = before[kind] ?? { all: 0, over10ms: 0, over100ms: 0 };
      return `${kind} ${a.all - b.all} (over 10 ms ${a.over10ms - b.over10ms}, over 100 ms ${a.over100ms - b.over100ms})`;
    })
    .join(', ');
const boundMs = 50;
// The baseline: the same request straight to the mock upstream, taking turns with the gateway's, so
// the machine's own stalls (a shared two-core box) show up in both.
const direct = new Pool(`http://127.0.0.1:${ports.mock}`, { connections: 1 });
const probe = new Pool(`http://127.0.0.1:${ports.gateway}`, { connections: 2 });

async function call(client: Pool, key: string): Promise<{ status: number; ms: number; overheadMs: number }> {
  const t0 = performance.now();
  const res = await client.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
  await res.body.dump();
  return { status: res.statusCode, ms: performance.now() - t0, overheadMs: Number(res.headers['x-tollgate-overhead-ms'] ?? 0) };
}

// Polls until the key answers `status`; the time from `sinceMs`.
async function until(key: string, status: number, sinceMs: number): Promise<number> {
  for (;;) {
    if ((await call(probe, key)).status === status) return performance.now() - sinceMs;
    if (performance.now() - sinceMs > 30_000) return Number.POSITIVE_INFINITY;
    await sleep(5);
  }
}

const children: ChildProcess[] = [];
const cleanups: (() => void)[] = [];
try {
  await sqlOn(postgresUrl, `create database ${benchDb}`);
  const database = await openDatabase({ databaseUrl: dbUrl, dataDir: '' });
  await database.migrate();
  const seedStarted = performance.now();
  for (const statement of [
    `insert into orgs (id, name) values ('org_seed', 'seed')`,
    `insert into teams (id, org_id, parent_id, name) values ('team_root', 'org_seed', null, 'root'), ('team_child', 'org_seed', 'team_root', 'child')`,
    `insert into users (id, org_id, team_id, name) select 'user_seed_' || u, 'org_seed', 'team_child', 'seed-' || u from generate_series(1, ${userCount}) u`,
    `insert into api_keys (id, org_id, user_id, hash, prefix)
       select 'key_seed_' || i, 'org_seed', 'user_seed_' || (i % ${userCount} + 1), encode(sha256(convert_to('tg-seed-' || i, 'UTF8')), 'hex'), 'tg-seed'
       from generate_series(1, ${keyCount}) i`,
    // What autovacuum would have done by the time replicas start.
    'vacuum analyze api_keys',
    'vacuum analyze users',
  ]) {
    await sqlOn(dbUrl, statement);
  }
  process.stdout.write(`seeded ${keyCount} keys for ${userCount} users in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s\n`);

  children.push((await start(['--import', './bin/typescript.js', 'bench/mock-upstream.ts', String(ports.mock)], {}, /mock upstream on/)).child);
  const entry = values.loader ? 'bin/tollgate.js' : await compiledGateway();
  process.stdout.write(`gateway                             ${values.loader ? 'sources through the TypeScript loader' : 'compiled build, as the image runs it'}\n`);
  const startedAt = performance.now();
  const { child: server, captured } = await start([entry, 'serve'], env, /tollgate listening/, /filter of valid key hashes built/);
  children.push(server);
  const startupMs = performance.now() - startedAt;
  const filterBuilt = captured.then((line) => (JSON.parse(line) as { ms: number }).ms);
  // The run starts once the gateway says it is ready; nothing before is measured.
  for (;;) {
    const res = await probe.request({ method: 'GET', path: '/ready' });
    await res.body.dump();
    if (res.statusCode === 200) break;
    await sleep(50);
  }
  const readyMs = performance.now() - startedAt;
  const warm = new Pool(`http://127.0.0.1:${ports.gateway}`, { connections: 32 });
  let nextHot = 1;
  await Promise.all(Array.from({ length: 32 }, async () => {
    for (let i = nextHot++; i <= hotKeys; i = nextHot++) {
      const res = await warm.request({ method: 'GET', path: '/v1/models', headers: { authorization: `Bearer ${seedKey(i)}` } });
      await res.body.dump();
    }
  }));
  await warm.close();
  const warmedMs = performance.now() - startedAt - readyMs;
  // The gateway's event loop delay histogram restarts at each scrape: this one opens the run.
  const atStart = await scrape();
  const gcAtStart = gcPausesOf(atStart);
  const benchLag = monitorEventLoopDelay({ resolution: 10 });
  benchLag.enable();
  const pid = server.pid!;
  const rssAtStart = rssMb(pid, 'VmRSS');

  const redis = new Redis(redisUrl);
  const bus = createRedisInvalidationBus(redis, keyPrefix);
  const change: ChangeContext = { actor: { type: 'cli', id: 'bench', role: 'admin', userId: null }, requestId: 'bench-keys' };

  let running = true;
  const rssSamples: number[] = [];
  const sampler = (async () => {
    while (running) {
      rssSamples.push(rssMb(pid, 'VmRSS'));
      await sleep(500);
    }
  })();

  // Revoke a key the gateway has cached, then time until it answers 401; likewise a new key until 200.
  const revocationMs: number[] = [];
  const creationMs: number[] = [];
  const churn = (async () => {
    for (let n = 0; running && n < revocable; n++) {
      const i = keyCount - n;
      await call(probe, seedKey(i));
      const revokedAt = performance.now();
      await revokeApiKey(database.db, bus, change, `key_seed_${i}`);
      revocationMs.push(await until(seedKey(i), 401, revokedAt));
      const createdAt = performance.now();
      const created = await createApiKey(database.db, bus, change, `user_seed_${(n % userCount) + 1}`, {});
      creationMs.push(await until(created.key, 200, createdAt));
      await sleep(500);
    }
  })();

  // The one driving connection: 90% a hot set of keys, 10% any key (most of them cold).
  // A key's first use misses the cache and asks Postgres; later ones are hits.
  const samples: Array<{ atS: number; ms: number; overheadMs: number; status: number; firstUse: boolean; baselineMs: number }> = [];
  const used = new Set<number>(Array.from({ length: hotKeys }, (_, i) => i + 1));
  const endAt = performance.now() + durationS * 1000;
  while (performance.now() < endAt) {
    const i = Math.random() < 0.9 ? 1 + Math.floor(Math.random() * hotKeys) : 1 + Math.floor(Math.random() * (keyCount - revocable));
    const firstUse = !used.has(i);
    used.add(i);
    const r = await call(gateway, seedKey(i));
    const atS = (performance.now() - startedAt) / 1000;
    samples.push({ atS, ...r, firstUse, baselineMs: (await call(direct, 'none')).ms });
  }
  running = false;
  await churn;
  await sampler;
  const atEnd = await scrape();
  const gatewayLagMs = lagMaxMsOf(atEnd);
  benchLag.disable();
  const rssAfterRun = rssMb(pid, 'VmRSS');

  // Made-up keys: transactions during the flood and the settling after it (backends report their
  // counts up to ~10 s late), less the same span idle just before it.
  const settleMs = 12_000;
  await sleep(settleMs);
  const floodSpanMs = 30_000;
  const idleStart = await transactions();
  await sleep(floodSpanMs);
  const floodStart = await transactions();
  const floodStarted = performance.now();
  const refused: Record<number, number> = {};
  for (let i = 0; i < 10_000; i++) {
    const r = await call(gateway, `tg-${randomBytes(32).toString('base64url')}`);
    refused[r.status] = (refused[r.status] ?? 0) + 1;
  }
  const floodMs = performance.now() - floodStarted;
  await sleep(settleMs);
  const floodEnd = await transactions();
  const windowMs = performance.now() - floodStarted;
  const idle = Math.round(((floodStart - idleStart) * windowMs) / floodSpanMs);

  const quantiles = (xs: number[]) => {
    const sorted = xs.toSorted((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
    return `p50 ${at(0.5)}  p99 ${at(0.99)}  p99.9 ${at(0.999)}  max ${sorted.at(-1)!.toFixed(2)}`;
  };
  const baseline = samples.map((s) => s.baselineMs);
  const maxOverhead = Math.max(...samples.map((s) => s.overheadMs));
  const maxMs = Math.max(...samples.map((s) => s.ms));
  const statuses = samples.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s.status]: (acc[s.status] ?? 0) + 1 }), {});
  const slowest = samples.toSorted((a, b) => b.ms - a.ms).slice(0, 5);
  const fmt = (xs: number[]) => (xs.length === 0 ? '-' : `max ${Math.max(...xs).toFixed(0)} ms, mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(0)} ms over ${xs.length}`);

  process.stdout.write(`\nprincipal cache, ${keyCount} keys, ${durationS} s on one connection, Node ${process.version}\n`);
  process.stdout.write(`startup (spawn to listening)        ${(startupMs / 1000).toFixed(2)} s (ready ${(readyMs / 1000).toFixed(2)} s, ${hotKeys} hot keys cached ${(warmedMs / 1000).toFixed(1)} s later), RSS ${rssAtStart.toFixed(0)} MB, ${memoryOf(atStart)}\n`);
  process.stdout.write(`requests                            ${samples.length} (${(samples.length / durationS).toFixed(0)}/s), statuses ${JSON.stringify(statuses)}\n`);
  process.stdout.write(`latency ms, gateway                 ${quantiles(samples.map((x) => x.ms))}\n`);
  process.stdout.write(`latency ms, mock upstream directly  ${quantiles(baseline)}  (baseline, taking turns)\n`);
  const maxOf = (xs: typeof samples) => (xs.length === 0 ? '-' : `${Math.max(...xs.map((x) => x.ms)).toFixed(1)} ms over ${xs.length}`);
  process.stdout.write(`max latency, cache hits             ${maxOf(samples.filter((x) => !x.firstUse))}; a key's first use (asks Postgres): ${maxOf(samples.filter((x) => x.firstUse))}\n`);
  const hits = samples.filter((x) => !x.firstUse);
  const maxHitMs = Math.max(...hits.map((x) => x.ms));
  process.stdout.write(`max latency after ready, cache hits ${maxHitMs.toFixed(1)} ms: ${maxHitMs <= boundMs ? 'within' : 'OVER'} the ${boundMs} ms bound (${hits.filter((x) => x.ms > boundMs).length} of ${hits.length} over it); every request: max ${maxMs.toFixed(1)} ms, ${samples.filter((x) => x.ms > boundMs).length} of ${samples.length} over it; mock directly: ${baseline.filter((ms) => ms > boundMs).length} over it\n`);
  process.stdout.write(`gateway overhead (header) max       ${maxOverhead.toFixed(2)} ms\n`);
  process.stdout.write(`event loop delay, max                gateway ${gatewayLagMs.toFixed(0)} ms, this driver ${(benchLag.max / 1e6).toFixed(0)} ms\n`);
  process.stdout.write(`gateway GC pauses during the run    ${gcDelta(gcAtStart, gcPausesOf(atEnd))}\n`);
  process.stdout.write(`filter of valid hashes built in     ${((await filterBuilt) / 1000).toFixed(1)} s after the cache started\n`);
  process.stdout.write(`slowest                             ${slowest.map((s) => `${s.ms.toFixed(1)} ms at ${s.atS.toFixed(1)} s (overhead ${s.overheadMs.toFixed(1)}, ${s.firstUse ? 'first use' : 'hit'}, mock directly next ${s.baselineMs.toFixed(1)})`).join('; ')}\n`);
  process.stdout.write(`revocation reaches the gateway      ${fmt(revocationMs)}\n`);
  process.stdout.write(`a new key reaches the gateway       ${fmt(creationMs)}\n`);
  process.stdout.write(`RSS                                 max ${Math.max(...rssSamples).toFixed(0)} MB during the run, ${rssAfterRun.toFixed(0)} MB after, peak (VmHWM) ${rssMb(pid, 'VmHWM').toFixed(0)} MB; at the end ${memoryOf(atEnd)}\n`);
  process.stdout.write(`10,000 made-up keys                 statuses ${JSON.stringify(refused)}; ${(floodMs / 1000).toFixed(1)} s; Postgres transactions ${floodEnd - floodStart} in the ${(windowMs / 1000).toFixed(0)} s from its start, against ${idle} at the idle rate measured just before: ${floodEnd - floodStart - idle} attributable\n`);
  await bus.close();
  redis.disconnect();
  await database.close();
} finally {
  await gateway.close();
  await direct.close();
  await probe.close();
  for (const child of children) child.kill('SIGTERM');
  await sleep(1_000);
  await sqlOn(postgresUrl, `drop database if exists ${benchDb} with (force)`).catch(() => {});
  for (const cleanup of cleanups) cleanup();
}
