// Alerting as the composition root starts it: the store (the AlertSink every source raises into),
// budget crossings wired as a source, the outbox sender and the periodic sweep.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import { createBudgetAlerts, type BudgetAlerts } from './budget-source.js';
import { createDeliverer } from './channels/index.js';
import type { AlertsConfig } from './config.js';
import { createAlertMetrics } from './metrics.js';
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
  readonly clock?: () => number;
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
  const sender = startSender({ db, deliverer, sink: store, config: config.delivery, metrics: createAlertMetrics(options.registry, db), logger, clock }, config.enabled);
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweepTimer = config.enabled
    ? setInterval(() => {
        sweeping = store.sweep().catch((err) => logger.warn({ err: (err as Error).message }, 'alert sweep failed; retrying next interval'));
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
