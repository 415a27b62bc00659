// CPU per request of the gateway without budgets (Redis + Postgres, auth, parsing, usage, the
// usage event, metrics and the access log all on) against the bare undici proxy, the floor
// (bench/bare-proxy.ts), and with --budgets the same gateway with bench/proxy.ts's five budget
// buckets (bench/budgets-env.ts) beside them, measured two ways in one run:
// - CPU time from /proc under autocannon load at 50 connections, in interleaved rounds (what
//   bench/proxy.ts reports, but only these two targets, so a change can be measured in a minute);
// - with --callgrind, machine instructions per request counted by valgrind (callgrind Ir), which a
//   loaded machine does not move: each server runs under callgrind, is warmed up uninstrumented,
//   and then counts exactly --requests requests.
// Run: node --import ./bin/typescript.js bench/cpu.ts [--duration 10] [--rounds 5] [--budgets] [--callgrind] [--requests 2000] [--warmup 3000] [--no-load] [--profile DIR]
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { budgetsEnv } from './budgets-env.js';
import { cpuSeconds, startProcess } from './child-process.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
    callgrind: { type: 'boolean', default: false },
    requests: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '3000' },
    // Adds the gateway with five budget buckets (`budgets`) to the targets.
    budgets: { type: 'boolean', default: false },
    // Which servers run under callgrind (before needs --compare, budgets --budgets).
    'callgrind-targets': { type: 'string', default: 'bare,gateway,before,budgets' },
    'no-load': { type: 'boolean', default: false },
    // Another checkout of Tollgate (e.g. main) to measure beside this one, as `before`.
    compare: { type: 'string' },
    // Writes a V8 CPU profile of this checkout's gateways under load (node --cpu-prof) into this
    // directory, one per target (gateway.cpuprofile, budgets.cpuprofile).
    profile: { type: 'string' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const ports = { mock: 19201, bare: 19202, gateway: 19203, redis: 19211, bareCg: 19222, gatewayCg: 19223, before: 19204, budgets: 19205 };
const postgresUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const benchDb = `tollgate_cpu_${process.pid}`;
const gatewayEnv = (port: number): Record<string, string> => ({
  OPENAI_BASE_URL: `http://127.0.0.1:${ports.mock}/v1`,
  OPENAI_API_KEY: 'sk-upstream',
  LOG_LEVEL: 'info',
  REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
  DATABASE_URL: Object.assign(new URL(postgresUrl), { pathname: `/${benchDb}` }).toString(),
  TOLLGATE_REDIS_KEY_PREFIX: `tgcpu:${process.pid}:`,
  TOLLGATE_SERVER__WORKERS: '1',
  PORT: String(port),
});
// Its own key prefix: the two gateways' usage streams and counters stay apart.
const budgetedEnv = (port: number): Record<string, string> => ({ ...gatewayEnv(port), ...budgetsEnv, TOLLGATE_REDIS_KEY_PREFIX: `tgcpub:${process.pid}:` });
const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Say hello in five words.' }] });

function run(args: string[], env: Record<string, string>): string {
  return execFileSync(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
}


const load = (url: string, key: string, options: { duration?: number; amount?: number; connections?: number }) =>
  autocannon({
    url: `${url}/v1/chat/completions`,
    method: 'POST',
    connections: options.connections ?? 50,
    ...(options.amount ? { amount: options.amount } : { duration: options.duration! }),
    timeout: 120,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body,
  });

async function loadedCpu(targets: Array<{ name: string; url: string; pid: number }>, key: string, duration: number, rounds: number) {
  const totals = new Map(targets.map((t) => [t.name, { cpuS: 0, requests: 0, errors: 0 }]));
  for (let round = 0; round < rounds; round++) {
    for (const t of targets) {
      const before = cpuSeconds(t.pid);
      const result = await load(t.url, key, { duration: duration / rounds });
      const total = totals.get(t.name)!;
      total.cpuS += cpuSeconds(t.pid) - before;
      total.requests += result.requests.total;
      total.errors += result.errors + result.non2xx;
    }
  }
  return totals;
}

// Instructions (callgrind Ir) per request: instrumentation is off while the server starts and
// warms up (V8 has optimised the hot path by then), on for exactly `requests` requests.
async function callgrindIr(name: string, args: string[], env: Record<string, string>, port: number, key: string, requests: number, outDir: string): Promise<{ total: number; main: number }> {
  const out = join(outDir, `${name}.callgrind`);
  const child = await startProcess('valgrind', ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${out}`, process.execPath, ...args], { ...env, PORT: String(port) }, /listening/);
  try {
    const url = `http://127.0.0.1:${port}`;
    await load(url, key, { amount: Number(values.warmup) });
    execFileSync('callgrind_control', ['-i', 'on', String(child.pid)]);
    const result = await load(url, key, { amount: requests });
    execFileSync('callgrind_control', ['-d', String(child.pid)]);
    // A request autocannon gave up on (timeout under valgrind's slowdown) still ran: counted, but said.
    if (result.errors + result.non2xx > 0) process.stdout.write(`  ${name}: ${result.errors} errors, ${result.non2xx} non-2xx answers among the counted requests (by status: ${JSON.stringify(result.statusCodeStats)})\n`);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  // --separate-threads: one file per thread, `-01` the main (JavaScript) thread.
  let total = 0;
  let main = 0;
  for (const f of readdirSync(outDir).filter((f) => f.startsWith(`${name}.callgrind`))) {
    const summary = /^summary: (\d+)/m.exec(readFileSync(join(outDir, f), 'utf8'));
    if (!summary) continue;
    total += Number(summary[1]);
    if (f.endsWith('-01')) main += Number(summary[1]);
  }
  return { total: total / requests, main: main / requests };
}

const children: ChildProcess[] = [];
const outDir = mkdtempSync(join(tmpdir(), 'tollgate-cpu-'));
const pgAdmin = async (statement: string) => {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  await client.query(statement);
  await client.end();
};
try {
  children.push(await startProcess('redis-server', ['--port', String(ports.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {}, /Ready to accept connections/));
  children.push(await startProcess(process.execPath, ['--import', './bin/typescript.js', 'bench/mock-upstream.ts', String(ports.mock)], {}, /mock upstream on/));
  await pgAdmin(`create database ${benchDb}`);
  run(['bin/tollgate.js', 'migrate'], gatewayEnv(ports.gateway));
  const key = (JSON.parse(run(['bin/tollgate.js', 'keys', 'create', '--user', 'bench', '--json'], { ...gatewayEnv(ports.gateway), LOG_LEVEL: 'warn' })) as { key: string }).key;
  const bareArgs = (port: number) => ['--import', './bin/typescript.js', 'bench/bare-proxy.ts', String(port), `http://127.0.0.1:${ports.mock}`];
  const gatewayArgs = ['bin/tollgate.js', 'serve'];
  const uptime = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

  if (!values['no-load']) {
    const bare = await startProcess(process.execPath, bareArgs(ports.bare), {}, /bare proxy listening/);
    children.push(bare);
    const profile = (name: string) => (values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`, `--cpu-prof-name=${name}.cpuprofile`] : []);
    const gateway = await startProcess(process.execPath, [...profile('gateway'), ...gatewayArgs], gatewayEnv(ports.gateway), /tollgate listening/);
    children.push(gateway);
    const targets = [
      { name: 'bare', url: `http://127.0.0.1:${ports.bare}`, pid: bare.pid! },
      { name: 'gateway', url: `http://127.0.0.1:${ports.gateway}`, pid: gateway.pid! },
    ];
    if (values.budgets) {
      const budgeted = await startProcess(process.execPath, [...profile('budgets'), ...gatewayArgs], budgetedEnv(ports.budgets), /tollgate listening/);
      children.push(budgeted);
      targets.push({ name: 'budgets', url: `http://127.0.0.1:${ports.budgets}`, pid: budgeted.pid! });
    }
    if (values.compare) {
      const before = await startProcess(process.execPath, [join(values.compare, 'bin/tollgate.js'), 'serve'], gatewayEnv(ports.before), /tollgate listening/);
      children.push(before);
      targets.push({ name: 'before', url: `http://127.0.0.1:${ports.before}`, pid: before.pid! });
    }
    for (const t of targets) await load(t.url, key, { duration: 3, connections: 10 });
    const loadBefore = uptime();
    const totals = await loadedCpu(targets, key, Number(values.duration), Number(values.rounds));
    const perRequest = (name: string) => (totals.get(name)!.cpuS * 1e6) / totals.get(name)!.requests;
    process.stdout.write(`CPU per request at 50 connections (load average ${loadBefore} before, ${uptime()} after):\n`);
    for (const t of targets) process.stdout.write(`  ${t.name.padEnd(8)} ${perRequest(t.name).toFixed(1).padStart(7)} µs  (${totals.get(t.name)!.requests} requests, ${totals.get(t.name)!.errors} errors)\n`);
    for (const t of targets.slice(1)) process.stdout.write(`  ${t.name} / bare: ${(perRequest(t.name) / perRequest('bare')).toFixed(2)}\n`);
    if (values.budgets) process.stdout.write(`  budgets / gateway: ${(perRequest('budgets') / perRequest('gateway')).toFixed(2)} (+${(perRequest('budgets') - perRequest('gateway')).toFixed(1)} µs)\n`);
  }
  if (values.callgrind) {
    const requests = Number(values.requests);
    const servers: Record<string, { args: string[]; env: Record<string, string>; port: number }> = {
      bare: { args: bareArgs(ports.bareCg), env: {}, port: ports.bareCg },
      gateway: { args: gatewayArgs, env: gatewayEnv(ports.gatewayCg), port: ports.gatewayCg },
      ...(values.compare ? { before: { args: [join(values.compare, 'bin/tollgate.js'), 'serve'], env: gatewayEnv(ports.gatewayCg), port: ports.gatewayCg } } : {}),
      ...(values.budgets ? { budgets: { args: gatewayArgs, env: budgetedEnv(ports.gatewayCg), port: ports.gatewayCg } } : {}),
    };
    const counted = new Map<string, { total: number; main: number }>();
    for (const name of values['callgrind-targets'].split(',')) {
      const server = servers[name];
      if (server) counted.set(name, await callgrindIr(name, server.args, server.env, server.port, key, requests, outDir));
    }
    process.stdout.write(`instructions per request (callgrind Ir, ${requests} requests at 50 connections after ${values.warmup} uninstrumented; all threads, and the main thread alone):\n`);
    const bare = counted.get('bare');
    for (const [name, ir] of counted) {
      const ratio = bare ? `  (${(ir.total / bare.total).toFixed(2)}x bare, main thread ${(ir.main / bare.main).toFixed(2)}x)` : '';
      process.stdout.write(`  ${name.padEnd(8)} ${(ir.total / 1000).toFixed(0).padStart(7)} k, main thread ${(ir.main / 1000).toFixed(0).padStart(7)} k${ratio}\n`);
    }
    process.stdout.write(`  profiles: ${outDir} (callgrind_annotate)\n`);
  }
} finally {
  for (const child of children) child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 2000));
  await pgAdmin(`drop database if exists ${benchDb} with (force)`).catch(() => {});
  if (!values.callgrind) rmSync(outDir, { recursive: true, force: true });
}
