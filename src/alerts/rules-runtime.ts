// The periodic alert rules as the composition root starts them: every replica publishes its health
// counters; the evaluator (one replica at a time, leader.ts) runs the health and analytics rules
// and quota requests into the alert sink, and the personal thresholds and quota decisions into
// their owners' email channels.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { BudgetRule } from '../budget/rules.js';
import type { Db } from '../db/database.js';
import type { RedisClient } from '../redis/connect.js';
import type { ReadinessCheck } from '../server/gateway.js';
import { analyticsRule } from './analytics-rules.js';
import { startEvaluator, type Evaluator, type ScheduledRule } from './evaluator.js';
import { fleetHealthRule, storeHealthRule } from './health-rules.js';
import { localSnapshots, redisSnapshots } from './health-snapshot.js';
import { personalThresholdsRule, type BudgetReader } from './personal-thresholds.js';
import { quotaRequestsRule } from './quota-notices.js';
import { createPostgresLeaderLock, createProcessLeaderLock, createRedisLeaderLock } from './leader.js';
import { createRuleSettingsReader } from './rule-settings.js';
import { switchableRule } from './rule-switch.js';
import type { AlertRulesConfig } from './rules-config.js';
import type { AlertRule, AlertSink } from './source.js';

export interface AlertRulesOptions {
  readonly config: AlertRulesConfig;
  readonly sink: AlertSink;
  readonly db: Db;
  readonly redis: RedisClient | undefined;
  // A shared Postgres: without Redis, the evaluator's lock is an advisory lock there.
  readonly databaseUrl: string | undefined;
  readonly keyPrefix: string;
  readonly registry: Registry;
  readonly logger: Logger;
  providerOf(model: string): string | undefined;
  tokenizer(): { queued: number; maxQueue: number };
  // Reachability of the stores (Redis, Postgres), as /ready checks them.
  readonly storeChecks: readonly ReadinessCheck[];
  // The config file's budget rules, for the forecasts.
  readonly configRules: readonly BudgetRule[];
  // The budget counters, for the thresholds users set for themselves.
  readonly budgets: BudgetReader;
}

// Which replica evaluates, and how much waits for the alert store (non-zero while Postgres is away).
function registerEvaluatorMetrics(registry: Registry, evaluator: Evaluator): void {
  if (registry.getSingleMetric('tollgate_alert_evaluator_leader')) return;
  new Gauge({
    name: 'tollgate_alert_evaluator_leader',
    help: '1 on the replica that evaluates the alert rules (holds the evaluator lock), else 0.',
    registers: [registry],
    collect() {
      this.set(evaluator.leading ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tollgate_alert_rule_writes_pending',
    help: 'Alert rule results waiting for the alert store to answer.',
    registers: [registry],
    collect() {
      this.set(evaluator.pending);
    },
  });
}

export interface AlertRules {
  readonly evaluator: Evaluator;
  stop(): Promise<void>;
}

export function startAlertRules(options: AlertRulesOptions): AlertRules {
  const { config, redis, logger } = options;
  const replica = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const sources = { registry: options.registry, replica, providerOf: options.providerOf, tokenizer: options.tokenizer };
  const snapshots = redis ? redisSnapshots(redis, options.keyPrefix, sources, config.evaluateIntervalMs * 3) : localSnapshots(sources);
  const rules: ScheduledRule[] = [];
  const add = (rule: AlertRule, intervalMs?: ScheduledRule['intervalMs']) => rules.push(intervalMs === undefined ? { rule } : { rule, intervalMs });
  // Config's settings with the admin API's overrides, read again by the holder at every evaluation.
  const settings = createRuleSettingsReader(options.db, config, logger);
  const healthOn = () => settings.current().health.enabled;
  add(switchableRule(storeHealthRule(options.storeChecks, Math.min(config.evaluateIntervalMs, 2_000)), healthOn));
  add(switchableRule(fleetHealthRule(snapshots, () => settings.current().health), healthOn));
  add(switchableRule(analyticsRule(options.db, options.configRules), () => settings.current().analytics.enabled), () => settings.current().analytics.intervalMs);
  add(quotaRequestsRule(options.db));
  add(personalThresholdsRule({ db: options.db, budgets: options.budgets, maxUsers: config.personal.maxUsersPerEvaluation }));

  const publish = () => snapshots.publish(Date.now()).catch((err: unknown) => logger.debug({ err: (err as Error).message }, 'health counters not published'));
  const publisher = setInterval(publish, config.evaluateIntervalMs);
  publisher.unref();
  void publish();
  const evaluator = startEvaluator({
    lock: redis
      ? createRedisLeaderLock(redis, options.keyPrefix, config.leaderTtlMs)
      : options.databaseUrl
        ? createPostgresLeaderLock(options.databaseUrl, config.leaderTtlMs)
        : createProcessLeaderLock(),
    rules,
    prepare: settings.refresh,
    sink: options.sink,
    intervalMs: config.evaluateIntervalMs,
    logger,
  });
  registerEvaluatorMetrics(options.registry, evaluator);
  return {
    evaluator,
    async stop() {
      clearInterval(publisher);
      await evaluator.stop();
    },
  };
}
