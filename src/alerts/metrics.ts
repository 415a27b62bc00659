// Alerting's Prometheus metrics: alerts firing by severity and source (read from the store at
// scrape time, so every replica reports the shared figure) and deliveries by channel type and
// outcome. Idempotent per registry, like the usage metrics.
import { sql } from 'drizzle-orm';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/database.js';

export interface AlertMetrics {
  deliveries: Counter<'channel_type' | 'outcome'>;
}

export function createAlertMetrics(registry: Registry, db: Db): AlertMetrics {
  const once = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  once('tollgate_alerts_firing', () => new Gauge({
    name: 'tollgate_alerts_firing',
    help: 'Active (firing or acknowledged) alerts, by severity and source.',
    labelNames: ['severity', 'source'] as const,
    aggregator: 'max',
    registers: [registry],
    async collect() {
      // While Postgres is away the last figures stay: a scrape must not fail with it.
      const result = await db.execute(sql`select severity, source, count(*)::int as n from alerts where state <> 'resolved' group by severity, source`).catch(() => undefined);
      if (!result) return;
      this.reset();
      for (const row of (result as unknown as { rows: Array<{ severity: string; source: string; n: number }> }).rows) this.set({ severity: row.severity, source: row.source }, Number(row.n));
    },
  }));
  return {
    deliveries: once('tollgate_alert_deliveries_total', () => new Counter({
      name: 'tollgate_alert_deliveries_total',
      help: 'Notification delivery attempts, by channel type and outcome (sent, retry, gone, rejected, failed).',
      labelNames: ['channel_type', 'outcome'] as const,
      registers: [registry],
    })),
  };
}
