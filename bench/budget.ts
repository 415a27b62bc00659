// Budget engine throughput: reserve + settle pairs per second from one process, against local
// Redis (EVALSHA through defineCommand, auto-pipelined by keeping many pairs in flight) and the
// in-process twin, with a baseline of two plain INCRs per pair on the same connection in the same
// run. Run by hand: node --import tsx bench/budget.ts [pairs] [concurrency]
// Env: BENCH_REDIS_URL (default redis://127.0.0.1:6379/12). Keys use a random prefix, removed after.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { CatalogModel } from '../src/config/catalog.js';
import { createBudgetEngine, type BudgetEngine } from '../src/budget/engine.js';
import { createMemoryBudgetStore } from '../src/budget/memory-store.js';
import { compileBudgetRules, type BudgetPrincipal } from '../src/budget/plan.js';
import { createRedisBudgetStore } from '../src/budget/redis-store.js';
import { budgetConfigSchema } from '../src/budget/rules.js';
import type { BudgetStore } from '../src/budget/store.js';
import type { UsageEvent } from '../src/usage/event.js';

const pairs = Number(process.argv[2] ?? 60_000);
const concurrency = Number(process.argv[3] ?? 256);
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/12';
const prefix = `tgbench:${randomBytes(4).toString('hex')}:`;
const orgCount = 50;

// A typical production request: key rpm, tpm and concurrency; user daily tokens; a two-level team
// chain with daily cost; org monthly cost. Eight buckets, none of them close to its limit.
const config = budgetConfigSchema.parse({
  clamp: true,
  budgets: [
    { scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 1e12 },
    { scope: 'team', scopeId: '*', metric: 'costMicros', window: 'day', limit: 1e13 },
    { scope: 'org', scopeId: '*', metric: 'costMicros', window: 'month', limit: 1e14, timezone: 'America/New_York' },
  ],
  limits: [{ scope: 'key', scopeId: '*', rpm: 1e9, tpm: 1e12, concurrency: 1e6 }],
});
const rules = compileBudgetRules({ ...config, keyPrefix: prefix });
const model: CatalogModel = {
  name: 'bench',
  provider: 'openai',
  upstreamModel: 'bench',
  encoding: 'o200k_base',
  contextWindow: 128_000,
  maxOutputTokens: 4_096,
  price: { inputPerMTok: 2_500_000, cachedInputPerMTok: 1_250_000, cacheWritePerMTok: 2_500_000, outputPerMTok: 10_000_000 },
};
const principals: BudgetPrincipal[] = Array.from({ length: orgCount }, (_, i) => ({
  orgId: `org${i}`,
  teamIds: [`team${i}`, `dept${i}`],
  userId: `user${i}`,
  keyId: `key${i}`,
}));

const event = (p: BudgetPrincipal, requestId: string): UsageEvent => ({
  requestId,
  timeMs: Date.now(),
  orgId: p.orgId,
  teamId: p.teamIds[0] ?? null,
  userId: p.userId,
  keyId: p.keyId,
  provider: 'openai',
  model: 'bench',
  promptTokens: 500,
  cachedTokens: 0,
  completionTokens: 200,
  reasoningTokens: 0,
  costMicros: 3_250,
  status: 200,
  errorCode: null,
  stream: false,
  latencyMs: 100,
  ttfbMs: null,
  estimated: false,
  sessionId: null,
  tags: {},
});

// redis-server's own CPU time (user + sys), from INFO cpu.
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1000;
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

// Runs `total` operations with `inFlight` of them outstanding at once; returns ops/s and latencies.
async function drive(total: number, inFlight: number, op: (i: number) => Promise<void>) {
  const latenciesMs: number[] = new Array(total);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      const t = performance.now();
      await op(i);
      latenciesMs[i] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - started) / 1000;
  latenciesMs.sort((a, b) => a - b);
  return { perSecond: Math.round(total / seconds), p50: percentile(latenciesMs, 0.5), p99: percentile(latenciesMs, 0.99) };
}

function pairOp(engine: BudgetEngine, run: string) {
  return async (i: number) => {
    const p = principals[i % orgCount]!;
    const nowMs = Date.now();
    const outcome = await engine.reserve({ requestId: `${run}-${i}`, principal: p, sessionId: null, model, promptTokens: 500, maxOutputTokens: 1_000, nowMs });
    if (!outcome.ok) throw new Error(`unexpected refusal: ${JSON.stringify(outcome)}`);
    await engine.settle(outcome.reservation, event(p, outcome.reservation.id), nowMs);
  };
}

const engineOn = (store: BudgetStore): BudgetEngine =>
  createBudgetEngine({ store, rules, config, onUnrecordedUsage: () => {} });

const row = (name: string, r: { perSecond: number; p50: number; p99: number }, unit = 'pairs/s') =>
  console.log(`${name.padEnd(44)} ${String(r.perSecond).padStart(8)} ${unit}   p50 ${r.p50.toFixed(3)} ms   p99 ${r.p99.toFixed(3)} ms`);

async function main(): Promise<void> {
  console.log(`budget bench: ${pairs} pairs, ${concurrency} in flight, ${rules.plan(principals[0]!, null, Date.now()).length} buckets per request, node ${process.version}`);

  // Planning alone, the pure part of the hot path.
  const planRuns = 200_000;
  let t = performance.now();
  for (let i = 0; i < planRuns; i++) rules.plan(principals[i % orgCount]!, null, Date.now());
  console.log(`${'plan (compiled rules -> buckets)'.padEnd(44)} ${((performance.now() - t) * 1000 / planRuns).toFixed(2).padStart(8)} µs/op`);

  const twin = engineOn(createMemoryBudgetStore({ keyPrefix: prefix, recordRetentionMs: config.recordRetentionMs, onUsageEvent: () => {} }));
  await drive(5_000, 1, pairOp(twin, 'warm'));
  row('in-process twin, reserve+settle, sequential', await drive(pairs, 1, pairOp(twin, 'mem')));

  const redis = new Redis(redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  try {
    await redis.ping();
  } catch (err) {
    console.log(`redis at ${redisUrl} unreachable: ${(err as Error).message}`);
    redis.disconnect();
    return;
  }
  const engine = engineOn(createRedisBudgetStore({ redis, keyPrefix: prefix, recordRetentionMs: config.recordRetentionMs }));
  try {
    await drive(5_000, concurrency, pairOp(engine, 'warm'));
    row('baseline: 2 × INCR per pair, same client', await drive(pairs, concurrency, async (i) => {
      const key = `${prefix}{org:org${i % orgCount}}:baseline`;
      await redis.incr(key);
      await redis.incr(key);
    }));
    const redisCpuBefore = await redisCpuMs(redis);
    const nodeCpuBefore = process.cpuUsage();
    row(`redis reserve+settle, ${concurrency} in flight`, await drive(pairs, concurrency, pairOp(engine, 'redis')));
    const nodeCpu = process.cpuUsage(nodeCpuBefore);
    const redisCpuUsPerPair = ((await redisCpuMs(redis)) - redisCpuBefore) * 1000 / pairs;
    console.log(`${'  cpu per pair: node / redis-server'.padEnd(44)} ${((nodeCpu.user + nodeCpu.system) / pairs).toFixed(1).padStart(8)} µs / ${redisCpuUsPerPair.toFixed(1)} µs`);
    row('redis reserve+settle, sequential (latency)', await drive(Math.min(pairs, 5_000), 1, pairOp(engine, 'seq')));
    t = performance.now();
    const overhead = 2_000;
    for (let i = 0; i < overhead; i++) await pairOp(engine, 'cpu')(i);
    console.log(`${'redis pair wall time incl. round trips'.padEnd(44)} ${((performance.now() - t) / overhead).toFixed(3).padStart(8)} ms/pair`);
  } finally {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5_000);
      cursor = nextCursor;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  }
}

await main();
