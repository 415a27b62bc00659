// Alerting as the composition root starts it: the store (the AlertSink every source raises into),
// budget crossings wired as a source, the outbox sender and the periodic sweep. The sender also
// serves other writers of the outbox (scheduled digests), so it runs when alerts are off but one of
// them needs it; then the sweep only prunes delivered rows and a failing channel is only logged.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import { createBudgetAlerts, type BudgetAlerts } from './budget-source.js';
import { createDeliverer } from './channels/index.js';
import type { AlertsConfig } from './config.js';
import { createAlertMetrics } from './metrics.js';
import { pruneBatch, pruneFinished } from './outbox.js';
import { startSender } from './sender.js';
import type { AlertSink } from './source.js';
import { createAlertStore, type AlertStore } from './store.js';

export interface Alerts {
  readonly store: AlertStore;
  readonly sink: AlertSink;
  readonly budget: BudgetAlerts;
  stop(): Promise<void>;
}

export interface StartAlertsOptions {
  readonly db: Db;
  readonly config: AlertsConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  // Something besides alerts queues notifications (digests): deliver them even with alerts off.
  readonly deliverOthers?: boolean;
  readonly clock?: () => number;
}

// With alerts off there are no routes to tell that a channel fails: the log says it instead.
function loggingSink(logger: Logger): AlertSink {
  return {
    async raise(input) {
      logger.warn({ fingerprint: input.fingerprint, figures: input.figures }, input.summary);
      return { alertId: '', created: false };
    },
    async clear() {
      return false;
    },
  };
}

export function startAlerts(options: StartAlertsOptions): Alerts {
  const { db, config, logger } = options;
  const clock = options.clock ?? Date.now;
  const store = createAlertStore({
    db,
    config,
    clock,
    onChange: (alert, change) => logger.warn({ alert: alert.id, fingerprint: alert.fingerprint, severity: alert.severity, source: alert.source, state: alert.state }, `alert ${change}: ${alert.summary}`),
  });
  const budget = createBudgetAlerts({ sink: store, severity: config.budgetSeverity, logger });
  const deliverer = createDeliverer(config, logger);
  const delivering = config.enabled || options.deliverOthers === true;
  const channelHealth = config.enabled ? store : loggingSink(logger);
  const sender = startSender({ db, deliverer, sink: channelHealth, config: config.delivery, metrics: createAlertMetrics(options.registry, db), logger, clock }, delivering);
  const sweep = config.enabled ? () => store.sweep() : () => pruneFinished(db, clock() - config.outboxRetentionMs, pruneBatch);
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweepTimer = delivering
    ? setInterval(() => {
        sweeping = sweep().catch((err) => logger.warn({ err: (err as Error).message }, 'alert sweep failed; retrying next interval'));
      }, config.sweepIntervalMs)
    : undefined;
  sweepTimer?.unref();
  return {
    store,
    sink: store,
    budget,
    async stop() {
      clearInterval(sweepTimer);
      await budget.drain();
      await sweeping;
      await sender.stop();
      await deliverer.close();
    },
  };
}
