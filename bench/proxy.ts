// Gateway overhead against two baselines measured in the same run: straight to the mock
// upstream, and through the bare undici pass-through proxy. Each server runs in its own process;
// autocannon runs here. Run: node --import tsx bench/proxy.ts [--duration 10]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Pool } from 'undici';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '10' } } });
const duration = Number(values.duration);
const root = new URL('..', import.meta.url).pathname;

function start(args: string[], env: Record<string, string>, readyText: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!readyText.test(out)) return;
      // Stop collecting: per-request logs must not pile up in this process.
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve(child);
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${out}`)));
  });
}

function run(command: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, command, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command.join(' ')} exited ${code}`))));
  });
}

// autocannon reports whole milliseconds; sub-millisecond overhead needs a finer clock, so the
// one-connection latency is timed here, request by request, on one keep-alive connection.
async function sequentialLatency(url: string, key: string, count: number): Promise<Figures> {
  const client = new Pool(url, { connections: 1 });
  const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Say hello in five words.' }] });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const samples: number[] = [];
  let errors = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const res = await client.request({ method: 'POST', path: '/v1/chat/completions', headers, body });
    await res.body.dump();
    samples.push(performance.now() - t0);
    if (res.statusCode !== 200) errors++;
  }
  const elapsedS = (performance.now() - started) / 1000;
  await client.close();
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { rps: count / elapsedS, p50: at(0.5), p99: at(0.99), errors };
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function measure(url: string, key: string, connections: number): Promise<Figures> {
  const result = await autocannon({
    url: `${url}/v1/chat/completions`,
    method: 'POST',
    connections,
    duration,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Say hello in five words.' }] }),
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

const ports = { mock: 19101, bare: 19102, gateway: 19103, budgeted: 19104 };
const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
const budgetedDataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
const gatewayEnv = {
  TOLLGATE_DATA_DIR: dataDir,
  OPENAI_BASE_URL: `http://127.0.0.1:${ports.mock}/v1`,
  OPENAI_API_KEY: 'sk-upstream',
  PORT: String(ports.gateway),
  LOG_LEVEL: 'warn',
};
// The same gateway with budgets in Redis: a typical set of five buckets per request (key and user
// tokens per day, user cost per month, org cost per month, key requests per minute), limits high
// enough that nothing is refused, so only the cost of checking is measured.
const budgetedEnv = {
  ...gatewayEnv,
  TOLLGATE_DATA_DIR: budgetedDataDir,
  PORT: String(ports.budgeted),
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  TOLLGATE_REDIS_KEY_PREFIX: `tgbench:${process.pid}:`,
  TOLLGATE_BUDGET__BUDGETS: JSON.stringify([
    { scope: 'key', scopeId: '*', metric: 'tokens', window: 'day', limit: 1e12 },
    { scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 1e12 },
    { scope: 'user', scopeId: '*', metric: 'costMicros', window: 'month', limit: 1e12 },
    { scope: 'org', scopeId: '*', metric: 'costMicros', window: 'month', limit: 1e12 },
  ]),
  TOLLGATE_BUDGET__LIMITS: JSON.stringify([{ scope: 'key', scopeId: '*', rpm: 1e9 }]),
};
const children: ChildProcess[] = [];
try {
  children.push(await start(['--import', 'tsx', 'bench/mock-upstream.ts', String(ports.mock)], {}, /mock upstream on/));
  children.push(await start(['--import', 'tsx', 'bench/bare-proxy.ts', String(ports.bare), `http://127.0.0.1:${ports.mock}`], {}, /bare proxy listening/));
  const { key } = JSON.parse(await run(['bin/tollgate.js', 'keys', 'create', '--user', 'bench', '--json'], gatewayEnv)) as { key: string };
  const { key: budgetedKey } = JSON.parse(await run(['bin/tollgate.js', 'keys', 'create', '--user', 'bench', '--json'], budgetedEnv)) as { key: string };
  children.push(await start(['bin/tollgate.js', 'serve'], { ...gatewayEnv, LOG_LEVEL: 'info' }, /tollgate listening/));
  children.push(await start(['bin/tollgate.js', 'serve'], { ...budgetedEnv, LOG_LEVEL: 'info' }, /tollgate listening/));

  const targets = { direct: `http://127.0.0.1:${ports.mock}`, bare: `http://127.0.0.1:${ports.bare}`, gateway: `http://127.0.0.1:${ports.gateway}`, budgeted: `http://127.0.0.1:${ports.budgeted}` };
  const keyOf = (name: string) => (name === 'budgeted' ? budgetedKey : key);
  // Warm up JIT and keep-alive pools so the first target measured is not penalised.
  for (const [name, url] of Object.entries(targets)) await autocannon({ url: `${url}/v1/chat/completions`, method: 'POST', connections: 10, duration: 2, headers: { 'content-type': 'application/json', authorization: `Bearer ${keyOf(name)}` }, body: '{"model":"gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"warm up"}]}' });

  const rows: Array<[string, number, Figures]> = [];
  for (const [name, url] of Object.entries(targets)) rows.push([name, 1, await sequentialLatency(url, keyOf(name), duration * 1000)]);
  for (const [name, url] of Object.entries(targets)) rows.push([name, 50, await measure(url, keyOf(name), 50)]);
  const get = (name: string, c: number) => rows.find(([n, cc]) => n === name && cc === c)![2];
  process.stdout.write(`\nnon-streaming chat completion, ${duration}s per run, Node ${process.version}\n`);
  process.stdout.write('target     conns   req/s     p50 ms   p99 ms   errors   (1 conn: timed sequentially; 50: autocannon; gateway = embedded default, budgeted = Redis budgets)\n');
  for (const [name, c, f] of rows) {
    process.stdout.write(`${name.padEnd(10)} ${String(c).padStart(5)} ${f.rps.toFixed(0).padStart(8)} ${f.p50.toFixed(3).padStart(9)} ${f.p99.toFixed(3).padStart(8)} ${String(f.errors).padStart(8)}\n`);
  }
  const one = { bare: get('bare', 1), gateway: get('gateway', 1), direct: get('direct', 1), budgeted: get('budgeted', 1) };
  const fifty = { bare: get('bare', 50), gateway: get('gateway', 50), budgeted: get('budgeted', 50) };
  process.stdout.write(`\ngateway added latency at 1 connection vs bare proxy: p50 ${(one.gateway.p50 - one.bare.p50).toFixed(3)} ms, p99 ${(one.gateway.p99 - one.bare.p99).toFixed(3)} ms\n`);
  process.stdout.write(`gateway added latency at 1 connection vs direct:     p50 ${(one.gateway.p50 - one.direct.p50).toFixed(3)} ms, p99 ${(one.gateway.p99 - one.direct.p99).toFixed(3)} ms\n`);
  process.stdout.write(`gateway with Redis budgets (5 buckets) vs bare proxy:   p50 ${(one.budgeted.p50 - one.bare.p50).toFixed(3)} ms, p99 ${(one.budgeted.p99 - one.bare.p99).toFixed(3)} ms; vs without budgets: p50 ${(one.budgeted.p50 - one.gateway.p50).toFixed(3)} ms\n`);
  process.stdout.write(`gateway throughput at 50 connections: ${((fifty.gateway.rps / fifty.bare.rps) * 100).toFixed(0)}% of the bare proxy; with Redis budgets ${((fifty.budgeted.rps / fifty.bare.rps) * 100).toFixed(0)}%\n`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(budgetedDataDir, { recursive: true, force: true });
}
