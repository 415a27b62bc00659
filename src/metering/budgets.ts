// The budget engine of this process: the Redis store when Redis is configured, the in-process
// twin otherwise, the rules from config, and the reaper that returns expired leases.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createBudgetEngine, type BudgetEngine, type LedgerTotals } from '../budget/engine.js';
import { observingLateSettles } from '../budget/late-settles.js';
import { createMemoryBudgetStore } from '../budget/memory-store.js';
import { compileBudgetRules, type CompiledBudgets } from '../budget/plan.js';
import { startBudgetReaper } from '../budget/reaper.js';
import { createRedisBudgetStore } from '../budget/redis-store.js';
import type { BudgetConfig } from '../budget/rules.js';
import type { RuntimeConfig } from '../config/load.js';
import { GatewayError } from '../errors/catalogue.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RedisClient } from '../redis/connect.js';
import type { UsagePipeline } from './usage-pipeline.js';
import type { CounterReading } from './usage-status.js';

export interface Budgets {
  readonly engine: BudgetEngine;
  // The buckets a request of this principal would debit now (GET /v1/usage reads them).
  plan: CompiledBudgets['plan'];
  readCounters(orgId: string, keys: readonly string[]): Promise<readonly CounterReading[]>;
  // Replaces the rules (config plus control-plane rows); open reservations keep their buckets.
  setRules(rules: Pick<BudgetConfig, 'budgets' | 'limits'>): void;
  stop(): Promise<void>;
}

export interface BudgetsOptions {
  config: RuntimeConfig;
  redis: RedisClient | undefined;
  usage: UsagePipeline;
  logger: Logger;
  listOrgIds: () => Promise<readonly string[]>;
  // Where lost counters are rebuilt from (see BudgetEngineOptions.ledger).
  ledger: LedgerTotals;
  metrics: Pick<Metrics, 'rebuilds' | 'lateSettles'>;
}

export function startBudgets({ config, redis, usage, logger, listOrgIds, ledger, metrics }: BudgetsOptions): Budgets {
  const budget = config.budget;
  const keyPrefix = config.redisKeyPrefix;
  const rawStore = redis
    ? createRedisBudgetStore({ redis, keyPrefix, recordRetentionMs: budget.recordRetentionMs, batchWindowMs: budget.batchWindowMs, usageFlushMs: budget.usageFlushMs })
    : createMemoryBudgetStore({ keyPrefix, recordRetentionMs: budget.recordRetentionMs, onUsageEvent: usage.push });
  const store = observingLateSettles(rawStore, ({ id, orgId, event }) => {
    metrics.lateSettles.inc();
    logger.warn({ requestId: id, orgId, latencyMs: event.latencyMs, leaseMs: budget.leaseMs }, 'settle landed after the reaper returned its reservation (no lease renewal within budget.leaseMs): usage charged, the budget may have admitted past its limit meanwhile');
  });
  const compile = (rules: Pick<BudgetConfig, 'budgets' | 'limits'>) => compileBudgetRules({ ...budget, ...rules, keyPrefix });
  let compiled = compile(budget);
  let lastRules = JSON.stringify({ budgets: budget.budgets, limits: budget.limits });
  const inner = createBudgetEngine({
    store,
    ledger,
    rules: compiled,
    config: budget,
    // Slices save store calls when replicas share Redis; the in-process twin has nothing to save.
    ...(redis && budget.slices ? { slices: { holderId: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`, idleMs: budget.sliceIdleMs, minRequests: budget.sliceMinRequests } } : {}),
    onUnrecordedUsage: usage.push,
    onError: (err, context) => logger.error({ err: err.message, context }, 'budget store failure absorbed'),
    // A counter created from an empty window (an org's first request, a new total budget) is
    // no news; one that finds usage in the ledger recovered lost state or a mid-window budget.
    onRebuild: (bucket, used) => {
      if (used === 0) return;
      const { scope, metric, window } = bucket.ref;
      metrics.rebuilds.inc({ scope, metric, window });
      logger.info({ bucket: bucket.ref, used }, 'budget counter recreated with usage from the ledger');
    },
  });
  // A session budget with requireSession refuses a request without x-session-id before anything
  // is counted or reserved; the meter passes the GatewayError on to the client as it is.
  const engine: BudgetEngine = {
    ...inner,
    async reserve(input) {
      if (input.sessionId === null && compiled.sessionRequired(input.principal)) throw new GatewayError('session_required');
      return inner.reserve(input);
    },
  };
  const reaper = startBudgetReaper({
    store,
    listOrgIds,
    intervalMs: budget.reaperIntervalMs,
    onError: (err) => logger.warn({ err: err.message }, 'lease reaper pass failed'),
  });
  return {
    engine,
    plan: (principal, sessionId, nowMs) => compiled.plan(principal, sessionId, nowMs),
    readCounters: (orgId, keys) => store.peek(orgId, keys, Date.now()),
    setRules(rules) {
      // The periodic backstop reload mostly finds nothing new: keep the compiled rules, and the
      // slices taken under them, unless something changed.
      const fingerprint = JSON.stringify(rules);
      if (fingerprint === lastRules) return;
      lastRules = fingerprint;
      compiled = compile(rules);
      inner.setRules(compiled);
    },
    async stop() {
      await reaper.stop();
      await inner.stop();
    },
  };
}
