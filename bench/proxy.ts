// Gateway overhead against two baselines measured in the same run: straight to the mock
// upstream, and through the bare undici pass-through proxy; and what a second worker process
// (`serve --workers 2`) adds to throughput. Each server runs in its own process;
// autocannon runs here. The gateway without budgets and the one with five budget buckets each get
// a redis-server of their own, so its INFO commandstats and INFO cpu deltas are theirs alone (the
// machine's shared Redis serves other sessions too); the last lines print issue 17's targets. Run: node --import ./bin/typescript.js bench/proxy.ts [--duration 10] [--rounds 5]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Pool } from 'undici';
import { budgetsEnv } from './budgets-env.js';
import { cpuSeconds, startProcess } from './child-process.js';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '10' }, rounds: { type: 'string', default: '5' } } });
const duration = Number(values.duration);
const rounds = Number(values.rounds);
const root = new URL('..', import.meta.url).pathname;
const startRedis = (port: number) =>
  startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {}, /Ready to accept connections/);

function run(command: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, command, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command.join(' ')} exited ${code}`))));
  });
}

// autocannon reports whole milliseconds; sub-millisecond overhead needs a finer clock, so the
// one-connection latency is timed here, request by request, each on its target's keep-alive
// connection. The targets take turns, one request each, so a machine that slows down or speeds
// up during the run moves every target's figures alike.
async function sequentialLatency(targets: Array<{ name: string; url: string; key: string }>, seconds: number): Promise<Map<string, Figures>> {
  const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Say hello in five words.' }] });
  const runs = targets.map((t) => ({
    ...t,
    client: new Pool(t.url, { connections: 1 }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
    samples: [] as number[],
    // The gateway's own time before forwarding (its x-tollgate-overhead-ms header).
    overheads: [] as number[],
    errors: 0,
  }));
  const endAt = performance.now() + seconds * 1000;
  while (performance.now() < endAt) {
    for (const run of runs) {
      const t0 = performance.now();
      const res = await run.client.request({ method: 'POST', path: '/v1/chat/completions', headers: run.headers, body });
      await res.body.dump();
      run.samples.push(performance.now() - t0);
      const overhead = res.headers['x-tollgate-overhead-ms'];
      if (typeof overhead === 'string') run.overheads.push(Number(overhead));
      if (res.statusCode !== 200) run.errors++;
    }
  }
  const figures = new Map<string, Figures>();
  for (const run of runs) {
    await run.client.close();
    const sorted = run.samples.toSorted((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    // Requests per second of this target's own time: the others' turns are not counted against it.
    const busyS = run.samples.reduce((sum, ms) => sum + ms, 0) / 1000;
    const overheads = run.overheads.toSorted((a, b) => a - b);
    const overheadP50 = overheads.length > 0 ? overheads[Math.floor(overheads.length / 2)] : undefined;
    figures.set(run.name, { rps: run.samples.length / busyS, p50: at(0.5), p99: at(0.99), errors: run.errors, ...(overheadP50 === undefined ? {} : { overheadP50 }) });
  }
  return figures;
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  // CPU microseconds per request of the server process, and of its redis-server, at 50
  // connections; and the commands its redis-server ran per request.
  cpuUs?: number;
  redisCpuUs?: number;
  redisCalls?: number;
  // 1 connection: the median of the gateway's own time before forwarding.
  overheadP50?: number;
}

// INFO commandstats counts the commands a script runs as well as the script: the calls a gateway
// makes are its scripts (eval, evalsha) and the commands no script runs (its stream reads, MGETs).
const scriptCommands = new Set(
  readdirSync(`${root}src/budget/lua`).flatMap((f) => [...readFileSync(`${root}src/budget/lua/${f}`, 'utf8').matchAll(/redis\.call\('(\w+)'/g)].map((m) => m[1]!.toLowerCase())),
);

// A target's own redis-server: CPU time (INFO cpu, user + sys) and calls made to it (above; not
// the INFO calls that read them).
async function redisStats(redis: Redis | undefined): Promise<{ cpuS: number; calls: number }> {
  if (!redis) return { cpuS: 0, calls: 0 };
  const info = await redis.info('all');
  const cpuS = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) if (m[1] !== 'info' && !scriptCommands.has(m[1]!)) calls += Number(m[2]);
  return { cpuS, calls };
}

// One autocannon slice against one target; measureLoaded sums the slices of each target.
async function loadSlice(url: string, key: string, connections: number, seconds: number, pid: number | undefined, redis: Redis | undefined) {
  const before = { server: cpuSeconds(pid), redis: await redisStats(redis) };
  const result = await autocannon({
    url: `${url}/v1/chat/completions`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Say hello in five words.' }] }),
  });
  const after = await redisStats(redis);
  return {
    requests: result.requests.total,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    serverCpuS: cpuSeconds(pid) - before.server,
    redisCpuS: after.cpuS - before.redis.cpuS,
    redisCalls: after.calls - before.redis.calls,
  };
}

// Throughput under load, in `rounds` turns: every target gets a slice of each round, so drift in
// the machine's speed spreads over all of them instead of landing on whichever ran last.
// Latencies are the median of the slices' percentiles.
async function measureLoaded(
  targets: Array<{ name: string; url: string; key: string; pid?: number | undefined; redis?: Redis | undefined }>,
  connections: number,
  rounds: number,
): Promise<Map<string, Figures>> {
  const slices = new Map<string, Array<Awaited<ReturnType<typeof loadSlice>>>>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const t of targets) slices.get(t.name)!.push(await loadSlice(t.url, t.key, connections, duration / rounds, t.pid, t.redis));
  }
  const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const figures = new Map<string, Figures>();
  for (const [name, parts] of slices) {
    const sum = (f: (s: (typeof parts)[number]) => number) => parts.reduce((total, s) => total + f(s), 0);
    const requests = sum((s) => s.requests);
    figures.set(name, {
      rps: requests / sum((s) => s.seconds),
      p50: median(parts.map((s) => s.p50)),
      p99: median(parts.map((s) => s.p99)),
      errors: sum((s) => s.errors),
      cpuUs: (sum((s) => s.serverCpuS) * 1e6) / requests,
      redisCpuUs: (sum((s) => s.redisCpuS) * 1e6) / requests,
      redisCalls: sum((s) => s.redisCalls) / requests,
    });
  }
  return figures;
}

const ports = { mock: 19101, bare: 19102, embedded: 19103, gateway: 19104, budgeted: 19105, workers2: 19106, budgeted20: 19107, gatewayRedis: 19111, budgetedRedis: 19112, budgeted20Redis: 19113 };
const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
const postgresUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const benchDb = `tollgate_bench_${process.pid}`;
const common = { OPENAI_BASE_URL: `http://127.0.0.1:${ports.mock}/v1`, OPENAI_API_KEY: 'sk-upstream', LOG_LEVEL: 'info' };
// Production shape: Redis and Postgres, shared by the two variants below.
const production = {
  ...common,
  REDIS_URL: `redis://127.0.0.1:${ports.gatewayRedis}`,
  DATABASE_URL: Object.assign(new URL(postgresUrl), { pathname: `/${benchDb}` }).toString(),
  TOLLGATE_REDIS_KEY_PREFIX: `tgbench:${process.pid}:`,
  // One process unless a variant asks for more (the default on Redis + Postgres is one per core).
  TOLLGATE_SERVER__WORKERS: '1',
};
const variants = {
  embedded: { ...common, TOLLGATE_DATA_DIR: dataDir, PORT: String(ports.embedded) },
  gateway: { ...production, PORT: String(ports.gateway) },
  budgeted: { ...production, ...budgetsEnv, REDIS_URL: `redis://127.0.0.1:${ports.budgetedRedis}`, PORT: String(ports.budgeted) },
  // The same with usage flushed every event-loop turn instead of every budget.usageFlushMs (20 ms):
  // what the window buys in Redis calls and CPU, for what a crash can lose (DESIGN).
  budgeted20: { ...production, ...budgetsEnv, TOLLGATE_BUDGET__USAGE_FLUSH_MS: '0', REDIS_URL: `redis://127.0.0.1:${ports.budgeted20Redis}`, PORT: String(ports.budgeted20) },
  workers2: { ...production, TOLLGATE_SERVER__WORKERS: '2', PORT: String(ports.workers2) },
};

async function postgres(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  await client.query(statement);
  await client.end();
}

const children: ChildProcess[] = [];
const redisOf: Record<string, Redis> = {};
try {
  const pids: Record<string, number | undefined> = {};
  children.push(await startRedis(ports.gatewayRedis));
  children.push(await startRedis(ports.budgetedRedis));
  children.push(await startRedis(ports.budgeted20Redis));
  redisOf.gateway = new Redis(ports.gatewayRedis, '127.0.0.1');
  redisOf.budgeted = new Redis(ports.budgetedRedis, '127.0.0.1');
  redisOf.budgeted20 = new Redis(ports.budgeted20Redis, '127.0.0.1');
  children.push(await startProcess(process.execPath, ['--import', './bin/typescript.js', 'bench/mock-upstream.ts', String(ports.mock)], {}, /mock upstream on/));
  pids.direct = children.at(-1)!.pid;
  children.push(await startProcess(process.execPath, ['--import', './bin/typescript.js', 'bench/bare-proxy.ts', String(ports.bare), `http://127.0.0.1:${ports.mock}`], {}, /bare proxy listening/));
  pids.bare = children.at(-1)!.pid;
  await postgres(`create database ${benchDb}`);
  await run(['bin/tollgate.js', 'migrate'], production);
  const createKey = async (env: Record<string, string>) => (JSON.parse(await run(['bin/tollgate.js', 'keys', 'create', '--user', 'bench', '--json'], { ...env, LOG_LEVEL: 'warn' })) as { key: string }).key;
  const keys: Record<string, string> = { embedded: await createKey(variants.embedded), production: await createKey(production) };
  for (const [name, env] of Object.entries(variants)) {
    children.push(await startProcess(process.execPath, ['bin/tollgate.js', 'serve'], env, /tollgate listening/));
    pids[name] = children.at(-1)!.pid;
  }

  const targets = {
    direct: `http://127.0.0.1:${ports.mock}`,
    bare: `http://127.0.0.1:${ports.bare}`,
    embedded: `http://127.0.0.1:${ports.embedded}`,
    gateway: `http://127.0.0.1:${ports.gateway}`,
    budgeted: `http://127.0.0.1:${ports.budgeted}`,
    budgeted20: `http://127.0.0.1:${ports.budgeted20}`,
    workers2: `http://127.0.0.1:${ports.workers2}`,
  };
  const keyOf = (name: string) => (name === 'embedded' ? keys.embedded! : keys.production!);
  // Warm up JIT and keep-alive pools so the first target measured is not penalised.
  for (const [name, url] of Object.entries(targets)) await autocannon({ url: `${url}/v1/chat/completions`, method: 'POST', connections: 10, duration: 2, headers: { 'content-type': 'application/json', authorization: `Bearer ${keyOf(name)}` }, body: '{"model":"gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"warm up"}]}' });

  const list = Object.entries(targets).map(([name, url]) => ({ name, url, key: keyOf(name), pid: pids[name], redis: redisOf[name] }));
  const sequential = await sequentialLatency(list, duration * list.length);
  const loaded = await measureLoaded(list, 50, rounds);
  const rows: Array<[string, number, Figures]> = [
    ...list.map((t): [string, number, Figures] => [t.name, 1, sequential.get(t.name)!]),
    ...list.map((t): [string, number, Figures] => [t.name, 50, loaded.get(t.name)!]),
  ];
  const get = (name: string, c: number) => rows.find(([n, cc]) => n === name && cc === c)![2];
  process.stdout.write(`\nnon-streaming chat completion, ${duration}s per target and load, Node ${process.version}\n`);
  process.stdout.write(`target     conns   req/s     p50 ms   p99 ms   errors   (1 conn: timed per request, targets taking turns; 50: autocannon, ${rounds} interleaved rounds)\n`);
  for (const [name, c, f] of rows) {
    process.stdout.write(`${name.padEnd(10)} ${String(c).padStart(5)} ${f.rps.toFixed(0).padStart(8)} ${f.p50.toFixed(3).padStart(9)} ${f.p99.toFixed(3).padStart(8)} ${String(f.errors).padStart(8)}\n`);
  }
  const one = { bare: get('bare', 1), gateway: get('gateway', 1), direct: get('direct', 1), budgeted: get('budgeted', 1), embedded: get('embedded', 1) };
  const fifty = { bare: get('bare', 50), gateway: get('gateway', 50), budgeted: get('budgeted', 50), budgeted20: get('budgeted20', 50), embedded: get('embedded', 50), workers2: get('workers2', 50) };
  const added = (f: Figures, base: Figures) => `p50 ${(f.p50 - base.p50).toFixed(3)} ms, p99 ${(f.p99 - base.p99).toFixed(3)} ms`;
  const share = (f: Figures) => `${((f.rps / fifty.bare.rps) * 100).toFixed(0)}%`;
  process.stdout.write(`\nadded latency at 1 connection, against the bare proxy:\n`);
  process.stdout.write(`  gateway (Redis + Postgres, no budgets)  ${added(one.gateway, one.bare)}\n`);
  process.stdout.write(`  gateway with 5 Redis budget buckets     ${added(one.budgeted, one.bare)}  (${added(one.budgeted, one.gateway)} more than without budgets)\n`);
  process.stdout.write(`  embedded (in-process store, PGlite)     ${added(one.embedded, one.bare)}\n`);
  process.stdout.write(`throughput at 50 connections as a share of the bare proxy: gateway ${share(fifty.gateway)}, with budgets ${share(fifty.budgeted)}, embedded ${share(fifty.embedded)}\n`);
  // On this two-core machine autocannon, the mock upstream and Redis share the cores with the
  // workers, so this shows what a second worker buys when cores are contended, not a core's worth.
  process.stdout.write(`workers (Redis + Postgres, no budgets): 2 workers ${share(fifty.workers2)} of the bare proxy, ${(fifty.workers2.rps / fifty.gateway.rps).toFixed(2)}x one worker\n`);
  const cpu = (f: Figures) => `${f.cpuUs!.toFixed(0)} µs (${(f.cpuUs! / fifty.bare.cpuUs!).toFixed(2)}x bare)`;
  const redisCost = (f: Figures) => ` + its redis-server ${f.redisCpuUs!.toFixed(1)} µs, ${f.redisCalls!.toFixed(3)} calls`;
  process.stdout.write(`CPU per request at 50 connections, server process (bare proxy ${fifty.bare.cpuUs!.toFixed(0)} µs):\n`);
  process.stdout.write(`  gateway ${cpu(fifty.gateway)}${redisCost(fifty.gateway)}\n  with budgets ${cpu(fifty.budgeted)}${redisCost(fifty.budgeted)}\n  with budgets, usage flushed per turn ${cpu(fifty.budgeted20)}${redisCost(fifty.budgeted20)}\n  embedded ${cpu(fifty.embedded)}\n  2 workers ${cpu(fifty.workers2)}\n`);
  const target = (what: string, value: string, goal: string, met: boolean) => process.stdout.write(`  ${what.padEnd(58)} ${value.padStart(10)}  (target ${goal}: ${met ? 'met' : 'NOT met'})\n`);
  const rpsRatio = fifty.budgeted.rps / fifty.gateway.rps;
  const addedP50 = one.budgeted.p50 - one.gateway.p50;
  const p99OverBare = one.budgeted.p99 - one.bare.p99;
  const cpuRatio = fifty.gateway.cpuUs! / fifty.bare.cpuUs!;
  process.stdout.write(`\nissue 17 targets (this run):\n`);
  target('throughput at 50 conns, 5 budget buckets / no budgets', rpsRatio.toFixed(3), '>= 0.90', rpsRatio >= 0.9);
  target('p50 at 1 conn, 5 budget buckets - no budgets', `${addedP50.toFixed(3)} ms`, '<= 0.05 ms', addedP50 <= 0.05);
  const addedOverhead = one.budgeted.overheadP50! - one.gateway.overheadP50!;
  target('  of which before forwarding (x-tollgate-overhead-ms p50)', `${addedOverhead.toFixed(3)} ms`, '<= 0.05 ms', addedOverhead <= 0.05);
  target('p99 at 1 conn, 5 budget buckets - bare proxy', `${p99OverBare.toFixed(3)} ms`, '<= 0.5 ms', p99OverBare <= 0.5);
  target('Redis calls per request, 5 budget buckets', fifty.budgeted.redisCalls!.toFixed(3), '<= 0.05', fifty.budgeted.redisCalls! <= 0.05);
  target('Redis CPU per request, 5 budget buckets', `${fifty.budgeted.redisCpuUs!.toFixed(1)} µs`, '< 10 µs', fifty.budgeted.redisCpuUs! < 10);
  target('  the same, usage flushed per turn: Redis calls per request', fifty.budgeted20.redisCalls!.toFixed(3), '<= 0.05', fifty.budgeted20.redisCalls! <= 0.05);
  target('  the same, usage flushed per turn: Redis CPU per request', `${fifty.budgeted20.redisCpuUs!.toFixed(1)} µs`, '< 10 µs', fifty.budgeted20.redisCpuUs! < 10);
  target('gateway CPU per request / bare proxy, budgets off', cpuRatio.toFixed(2), '<= 2', cpuRatio <= 2);
} finally {
  for (const r of Object.values(redisOf)) r.disconnect();
  for (const child of children) child.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
  await new Promise((r) => setTimeout(r, 500));
  await postgres(`drop database if exists ${benchDb} with (force)`).catch(() => {});
}
