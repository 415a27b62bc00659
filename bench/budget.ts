// Budget engine throughput: reserve + settle pairs per second from one process against local Redis
// (EVALSHA through defineCommand on a client with enableAutoPipelining, as src/app.ts builds it) and
// against the in-process twin. The machine is small and shared, so every Redis figure comes with
// baselines from the same run, interleaved with it: two plain INCRs per pair and two empty EVALSHAs
// per pair on the same client. Read the result as a ratio to those, not as an absolute.
//
// Per profile it prints pairs/s and latency, CPU per pair in this process and in redis-server
// (INFO cpu), and redis-server's own time per EVALSHA (INFO commandstats usec_per_call: script
// execution only, without reading the request or writing the reply).
//
// Run by hand: node --import ./bin/typescript.js bench/budget.ts [pairs] [inFlight] [profile …]
// Profiles: typical (5 counters: key and user daily tokens, user monthly cost, team monthly tokens,
// org monthly cost), typical+rpm (6: plus a key rpm), heavy (8: key rpm, tpm and concurrency, key
// and user daily tokens, a two-level team chain's daily cost, org monthly cost). Default: all three.
// Env: BENCH_REDIS_URL (default redis://127.0.0.1:6379/12). Keys use a random prefix, removed after.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { CatalogModel } from '../src/config/catalog.js';
import { createBudgetEngine, type BudgetEngine } from '../src/budget/engine.js';
import { createMemoryBudgetStore } from '../src/budget/memory-store.js';
import { compileBudgetRules, type BudgetPrincipal, type CompiledBudgets } from '../src/budget/plan.js';
import { createRedisBudgetStore } from '../src/budget/redis-store.js';
import { budgetConfigSchema, type BudgetConfigInput } from '../src/budget/rules.js';
import type { BudgetStore } from '../src/budget/store.js';
import type { UsageEvent } from '../src/usage/event.js';

const pairs = Number(process.argv[2] ?? 40_000);
const inFlight = Number(process.argv[3] ?? 256);
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/12';
const prefix = `tgbench:${randomBytes(4).toString('hex')}:`;
const orgCount = 50;

// Limits far above what the bench spends: every request is admitted.
const typical: BudgetConfigInput['budgets'] = [
  { scope: 'key', scopeId: '*', metric: 'tokens', window: 'day', limit: 1e12 },
  { scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 1e12 },
  { scope: 'user', scopeId: '*', metric: 'costMicros', window: 'month', limit: 1e13 },
  { scope: 'team', scopeId: '*', metric: 'tokens', window: 'month', limit: 1e13 },
  { scope: 'org', scopeId: '*', metric: 'costMicros', window: 'month', limit: 1e14, timezone: 'America/New_York' },
];
// teams: how deep each principal's team chain is (every team in it is charged).
const profiles: Record<string, BudgetConfigInput & { teams: number }> = {
  typical: { teams: 1, clamp: true, budgets: typical },
  'typical+rpm': { teams: 1, clamp: true, budgets: typical, limits: [{ scope: 'key', scopeId: '*', rpm: 1e9 }] },
  heavy: {
    teams: 2,
    clamp: true,
    budgets: [
      { scope: 'key', scopeId: '*', metric: 'tokens', window: 'day', limit: 1e12 },
      { scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 1e12 },
      { scope: 'team', scopeId: '*', metric: 'costMicros', window: 'day', limit: 1e13 },
      { scope: 'org', scopeId: '*', metric: 'costMicros', window: 'month', limit: 1e14, timezone: 'America/New_York' },
    ],
    limits: [{ scope: 'key', scopeId: '*', rpm: 1e9, tpm: 1e12, concurrency: 1e6 }],
  },
};
const selected = process.argv.slice(4);
for (const name of selected) if (!profiles[name]) throw new Error(`unknown profile ${name}; use ${Object.keys(profiles).join(', ')}`);
const profileNames = selected.length > 0 ? selected : Object.keys(profiles);

const model: CatalogModel = {
  name: 'bench',
  provider: 'openai',
  upstreamModel: 'bench',
  encoding: 'o200k_base',
  contextWindow: 128_000,
  maxOutputTokens: 4_096,
  price: { inputPerMTok: 2_500_000, cachedInputPerMTok: 1_250_000, cacheWritePerMTok: 2_500_000, outputPerMTok: 10_000_000 },
};
let principals: BudgetPrincipal[] = [];
const principalsWith = (teams: number): BudgetPrincipal[] =>
  Array.from({ length: orgCount }, (_, i) => ({
    orgId: `org${i}`,
    teamIds: [`team${i}`, `dept${i}`].slice(0, teams),
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

interface ServerStats {
  readonly cpuUs: number;
  readonly evalshaCalls: number;
  readonly evalshaUs: number;
}

// redis-server's CPU time (INFO cpu: user + sys) and its EVALSHA totals (INFO commandstats).
async function serverStats(redis: Redis): Promise<ServerStats> {
  const info = await redis.info('all');
  const num = (re: RegExp) => Number(re.exec(info)?.[1] ?? 0);
  const evalsha = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info);
  return {
    cpuUs: (num(/used_cpu_user:([\d.]+)/) + num(/used_cpu_sys:([\d.]+)/)) * 1e6,
    evalshaCalls: Number(evalsha?.[1] ?? 0),
    evalshaUs: Number(evalsha?.[2] ?? 0),
  };
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

interface Figures {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly nodeUs: number; // this process's CPU per operation
}

// Runs `total` operations with `concurrency` of them outstanding at once.
async function drive(total: number, concurrency: number, op: (i: number) => Promise<void>): Promise<Figures> {
  const latenciesMs: number[] = new Array(total);
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      const t = performance.now();
      await op(i);
      latenciesMs[i] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  latenciesMs.sort((a, b) => a - b);
  return {
    perSecond: Math.round(total / seconds),
    p50: percentile(latenciesMs, 0.5),
    p99: percentile(latenciesMs, 0.99),
    nodeUs: (cpu.user + cpu.system) / total,
  };
}

// drive() plus what redis-server spent meanwhile (other clients of a shared Redis add a little).
async function driveRedis(redis: Redis, total: number, op: (i: number) => Promise<void>) {
  const before = await serverStats(redis);
  const figures = await drive(total, inFlight, op);
  const after = await serverStats(redis);
  const calls = after.evalshaCalls - before.evalshaCalls;
  return {
    ...figures,
    redisUs: (after.cpuUs - before.cpuUs) / total,
    evalshaUs: calls > 0 ? (after.evalshaUs - before.evalshaUs) / calls : 0,
  };
}

function pairOp(engine: BudgetEngine, run: string) {
  return async (i: number) => {
    const p = principals[i % orgCount]!;
    const nowMs = Date.now();
    const outcome = await engine.reserve({ requestId: `${run}-${i}`, principal: p, sessionId: null, model, promptTokens: () => 500, maxOutputTokens: 1_000, nowMs });
    if (!outcome.ok) throw new Error(`unexpected refusal: ${JSON.stringify(outcome)}`);
    await engine.settle(outcome.reservation, event(p, outcome.reservation.id), nowMs);
  };
}

const engineOn = (store: BudgetStore, input: BudgetConfigInput, rules: CompiledBudgets, sliced = false): BudgetEngine =>
  // The bench's orgs are new: the ledger holds nothing for the counters their first requests create.
  createBudgetEngine({
    store,
    ledger: async (_orgId, buckets) => buckets.map(() => 0),
    rules,
    config: budgetConfigSchema.parse(input),
    onUnrecordedUsage: () => {},
    ...(sliced ? { slices: { holderId: `bench-${process.pid}`, idleMs: 1_000, minRequests: 32 } } : {}),
  });

const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(7);
function row(name: string, r: Figures & { redisUs?: number; evalshaUs?: number }, ratioTo?: number): void {
  const parts = [
    `${name.padEnd(34)} ${String(r.perSecond).padStart(7)} pairs/s`,
    ratioTo ? `(${(r.perSecond / ratioTo).toFixed(3)} of INCR)` : ''.padEnd(16),
    `p50 ${fmt(r.p50, 2)} ms  p99 ${fmt(r.p99, 2)} ms`,
    `node ${fmt(r.nodeUs)} µs`,
  ];
  if (r.redisUs !== undefined) parts.push(`redis ${fmt(r.redisUs)} µs`);
  if (r.evalshaUs) parts.push(`evalsha ${fmt(r.evalshaUs, 2)} µs/call`);
  console.log(parts.join('  '));
}

async function main(): Promise<void> {
  console.log(`budget bench: ${pairs} pairs, ${inFlight} in flight, node ${process.version}; CPU figures are per pair`);
  const redis = new Redis(redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  let redisUp = true;
  try {
    await redis.ping();
  } catch (err) {
    console.log(`redis at ${redisUrl} unreachable (${(err as Error).message}): twin only`);
    redis.disconnect();
    redisUp = false;
  }
  redis.defineCommand('benchEmpty', { numberOfKeys: 1, lua: 'return 1' });
  const empty = (key: string) => (redis as unknown as { benchEmpty(key: string): Promise<number> }).benchEmpty(key);
  const incrPairs = (i: number) => {
    const key = `${prefix}{org:org${i % orgCount}}:baseline`;
    return redis.incr(key).then(() => redis.incr(key)).then(() => {});
  };
  const emptyPairs = (i: number) => {
    const key = `${prefix}{org:org${i % orgCount}}:baseline`;
    return empty(key).then(() => empty(key)).then(() => {});
  };

  try {
    for (const name of profileNames) {
      const { teams, ...input } = profiles[name]!;
      principals = principalsWith(teams);
      const config = budgetConfigSchema.parse(input);
      const rules = compileBudgetRules({ ...config, keyPrefix: prefix });
      const buckets = rules.plan(principals[0]!, null, Date.now()).length;
      console.log(`\n-- ${name}: ${buckets} buckets per request`);

      const planRuns = 100_000;
      const t = performance.now();
      for (let i = 0; i < planRuns; i++) rules.plan(principals[i % orgCount]!, null, Date.now());
      console.log(`${'plan (compiled rules -> buckets)'.padEnd(34)} ${((performance.now() - t) * 1000 / planRuns).toFixed(2).padStart(7)} µs`);

      const twin = engineOn(createMemoryBudgetStore({ keyPrefix: prefix, recordRetentionMs: config.recordRetentionMs, onUsageEvent: () => {} }), input, rules);
      await drive(5_000, 1, pairOp(twin, `warm-mem-${name}`));
      row('in-process twin, sequential', await drive(pairs, 1, pairOp(twin, `mem-${name}`)));
      if (!redisUp) continue;

      const engine = engineOn(createRedisBudgetStore({ redis, keyPrefix: prefix, recordRetentionMs: config.recordRetentionMs, batchWindowMs: config.batchWindowMs, usageFlushMs: config.usageFlushMs }), input, rules);
      await drive(5_000, inFlight, pairOp(engine, `warm-${name}`));
      const incr = await driveRedis(redis, pairs, incrPairs);
      // Its EVALSHA column would only show other clients' scripts.
      row('baseline: 2 × INCR', { ...incr, evalshaUs: 0 });
      row('baseline: 2 × empty EVALSHA', await driveRedis(redis, pairs, emptyPairs), incr.perSecond);
      const loaded = await driveRedis(redis, pairs, pairOp(engine, `redis-${name}`));
      row(`reserve+settle, ${inFlight} in flight`, loaded, incr.perSecond);
      // Where each side would top out with a whole core to itself: on a 2-core box shared with the
      // load, neither has one, so the measured rate sits below both.
      console.log(`${'  ceilings with a core each'.padEnd(34)} redis ${Math.round(1e6 / loaded.redisUs!)} pairs/s, node ${Math.round(1e6 / loaded.nodeUs)} pairs/s`);
      // Replica-local slices: requests admitted in process, settles flushed with their usage
      // events once per org and event-loop turn (the evalsha column is then per flush).
      const sliced = engineOn(createRedisBudgetStore({ redis, keyPrefix: prefix, recordRetentionMs: config.recordRetentionMs, batchWindowMs: config.batchWindowMs, usageFlushMs: config.usageFlushMs }), input, rules, true);
      await drive(5_000, inFlight, pairOp(sliced, `warm-sliced-${name}`));
      row(`slices: reserve+settle, ${inFlight} in flight`, await driveRedis(redis, pairs, pairOp(sliced, `sliced-${name}`)), incr.perSecond);
      row('slices: reserve+settle, sequential', await drive(Math.min(pairs, 5_000), 1, pairOp(sliced, `sliced-seq-${name}`)));
      await sliced.stop();
      // The floor of any reservation's latency: one round trip to Redis, nothing executed.
      row('baseline: PING, sequential', await drive(Math.min(pairs, 5_000), 1, () => redis.ping().then(() => {})));
      row('reserve+settle, sequential', await drive(Math.min(pairs, 5_000), 1, pairOp(engine, `seq-${name}`)));
    }
  } finally {
    if (redisUp) {
      let cursor = '0';
      do {
        const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5_000);
        cursor = nextCursor;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    }
  }
}

await main();
