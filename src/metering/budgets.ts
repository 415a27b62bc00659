// The budget engine of this process: the Redis store when Redis is configured, the in-process
// twin otherwise, the rules from config, and the reaper that returns expired leases.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createBudgetEngine, type BudgetEngine, type LedgerTotals } from '../budget/engine.js';
import { createMemoryBudgetStore } from '../budget/memory-store.js';
import { compileBudgetRules, type CompiledBudgets } from '../budget/plan.js';
import { startBudgetReaper } from '../budget/reaper.js';
import { createRedisBudgetStore } from '../budget/redis-store.js';
import type { BudgetConfig } from '../budget/rules.js';
import type { RuntimeConfig } from '../config/load.js';
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
  redis: Redis | undefined;
  usage: UsagePipeline;
  logger: Logger;
  listOrgIds: () => Promise<readonly string[]>;
  // Where lost counters are rebuilt from (see BudgetEngineOptions.ledger).
  ledger: LedgerTotals;
}

export function startBudgets({ config, redis, usage, logger, listOrgIds, ledger }: BudgetsOptions): Budgets {
  const budget = config.budget;
  const keyPrefix = config.redisKeyPrefix;
  const store = redis
    ? createRedisBudgetStore({ redis, keyPrefix, recordRetentionMs: budget.recordRetentionMs, batchWindowMs: budget.batchWindowMs })
    : createMemoryBudgetStore({ keyPrefix, recordRetentionMs: budget.recordRetentionMs, onUsageEvent: usage.push });
  const compile = (rules: Pick<BudgetConfig, 'budgets' | 'limits'>) => compileBudgetRules({ ...budget, ...rules, keyPrefix });
  let compiled = compile(budget);
  const engine = createBudgetEngine({
    store,
    ledger,
    rules: compiled,
    config: budget,
    onUnrecordedUsage: usage.push,
    onError: (err, context) => logger.error({ err: err.message, context }, 'budget store failure absorbed'),
  });
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
      compiled = compile(rules);
      engine.setRules(compiled);
    },
    stop: () => reaper.stop(),
  };
}
