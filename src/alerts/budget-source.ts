// Budget crossings as alerts. Settle reports each level once per bucket and window (the store's
// crossing marker), and the fingerprint (bucket key + level) makes a second report a no-op, so
// every replica may raise what it saw: exactly one alert per bucket, window and level is stored.
// The hook is synchronous on the request path; crossings wait in a bounded queue and are written
// in the background, retried while Postgres is briefly away.
import type { Logger } from 'pino';
import type { Crossing } from '../budget/engine.js';
import type { CrossingLevel } from '../budget/store.js';
import type { EventContext } from '../metering/usage-event.js';
import type { AlertsConfig } from './config.js';
import type { AlertInput, AlertSink } from './source.js';

const levelRank: Record<CrossingLevel, number> = { warning: 1, critical: 2, exceeded: 3 };
const levelWords: Record<CrossingLevel, string> = { warning: 'passed its warning threshold', critical: 'passed its critical threshold', exceeded: 'is exhausted' };
const windowWords: Record<string, string> = { minute: 'per-minute', hour: 'hourly', day: 'daily', month: 'monthly', total: 'total', session: 'session', per_minute: 'per-minute rate', in_flight: 'concurrency' };

export function budgetAlert(crossing: Crossing, ctx: Pick<EventContext, 'principal'>, severity: AlertsConfig['budgetSeverity']): AlertInput {
  const { bucket, level, used, limit, bucketKey } = crossing;
  const percent = limit > 0 ? Math.floor((used * 100) / limit) : 100;
  const teamId = bucket.scope === 'team' ? bucket.scopeId : bucket.scope === 'org' ? null : (ctx.principal.teamIds[0] ?? null);
  const userId = bucket.scope === 'user' || bucket.scope === 'key' ? ctx.principal.userId : null;
  return {
    fingerprint: `budget:${bucketKey}:${level}`,
    source: 'budget',
    name: `budget.${level}`,
    severity: severity[level],
    summary: `The ${windowWords[bucket.window] ?? bucket.window} ${bucket.metric} budget of ${bucket.scope} ${bucket.scopeId} ${levelWords[level]}: ${used} of ${limit} (${percent}%).`,
    orgId: ctx.principal.orgId,
    teamId,
    userId,
    bucketKey,
    inhibitGroup: `budget:${bucketKey}`,
    inhibitRank: levelRank[level],
    figures: { level, used, limit, percent, metric: bucket.metric, window: bucket.window, scope: bucket.scope, scopeId: bucket.scopeId, ...(crossing.resetAtMs === null ? {} : { windowEndsAt: new Date(crossing.resetAtMs).toISOString() }) },
    endsAtMs: crossing.resetAtMs,
  };
}

export interface BudgetAlertsOptions {
  readonly sink: AlertSink;
  readonly severity: AlertsConfig['budgetSeverity'];
  readonly logger: Logger;
  readonly maxQueue?: number;
  readonly maxAttempts?: number;
  readonly retryMs?: number;
}

export interface BudgetAlerts {
  onCrossing(crossing: Crossing, ctx: EventContext): void;
  // Resolves once every queued crossing has been written (or given up on).
  drain(): Promise<void>;
}

export function createBudgetAlerts(options: BudgetAlertsOptions): BudgetAlerts {
  const { sink, logger } = options;
  const maxQueue = options.maxQueue ?? 10_000;
  const maxAttempts = options.maxAttempts ?? 10;
  const retryMs = options.retryMs ?? 1_000;
  const queue: AlertInput[] = [];
  let running: Promise<void> | undefined;

  async function raiseWithRetry(input: AlertInput): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await sink.raise(input);
        return;
      } catch (err) {
        if (attempt >= maxAttempts) {
          logger.error({ err, fingerprint: input.fingerprint }, 'budget alert dropped: the alert store stayed unreachable');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, retryMs * attempt));
      }
    }
  }

  async function run(): Promise<void> {
    // Settle hands over all of one request's crossings synchronously: start after them.
    await Promise.resolve();
    while (queue.length > 0) {
      // The highest level first: when one settle's crossings arrive together, the exhausted
      // alert is stored before the lower ones, which it then mutes.
      queue.sort((a, b) => (b.inhibitRank ?? 0) - (a.inhibitRank ?? 0));
      await raiseWithRetry(queue.shift()!);
    }
  }

  // A crossing queued after the loop's last check but before it was marked finished starts the next run.
  function kick(): void {
    if (running) return;
    running = run().finally(() => {
      running = undefined;
      if (queue.length > 0) kick();
    });
  }

  return {
    onCrossing(crossing, ctx) {
      if (queue.length >= maxQueue) {
        logger.error({ bucketKey: crossing.bucketKey, level: crossing.level }, 'budget alert dropped: alert queue full');
        return;
      }
      queue.push(budgetAlert(crossing, ctx, options.severity));
      kick();
    },
    async drain() {
      while (running) await running;
    },
  };
}
