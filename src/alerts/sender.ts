// Drains the notification outbox: claims due rows (one sender per row, see outbox.ts), delivers
// each through its channel and settles it: sent; retried after backoff with jitter or the
// receiver's Retry-After; dropped with the channel disabled on 410; failed when rejected for good
// or older than maxAgeMs. A channel failing failingAfter times in a row raises its own alert, which
// clears on its next success. Stopping waits for deliveries in flight, so a restart resends nothing.
import { eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { alertChannels } from '../../drizzle/schema/index.js';
import type { Db } from '../db/database.js';
import { backoffMs } from './backoff.js';
import type { Deliverer, ChannelRow } from './channels/index.js';
import type { DeliveryResult } from './channels/result.js';
import type { AlertsConfig } from './config.js';
import type { AlertMetrics } from './metrics.js';
import { claimDue, dropPending, settle, type OutboxRow, type Settlement } from './outbox.js';
import type { NotificationPayload } from './payload.js';
import type { AlertSink } from './source.js';

export interface SenderOptions {
  readonly db: Db;
  readonly deliverer: Deliverer;
  readonly sink: AlertSink;
  readonly config: AlertsConfig['delivery'];
  readonly metrics: AlertMetrics;
  readonly logger: Logger;
  readonly clock?: () => number;
}

export interface Sender {
  // Claims and delivers what is due now; resolves when those deliveries are settled.
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export const channelFailingFingerprint = (channelId: string): string => `delivery:channel_failing:${channelId}`;

export function startSender(options: SenderOptions, autostart = true): Sender {
  const { db, deliverer, sink, config, metrics, logger } = options;
  const clock = options.clock ?? Date.now;
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  function settlementOf(row: OutboxRow, result: DeliveryResult, nowMs: number): Settlement {
    if (result.outcome === 'sent') return { state: 'sent', status: result.status };
    if (result.outcome === 'gone') return { state: 'dropped', status: result.status, error: result.error };
    if (result.outcome === 'rejected') return { state: 'failed', status: result.status, error: result.error };
    if (nowMs - row.createdAt.getTime() >= config.maxAgeMs) return { state: 'failed', status: result.status, error: `gave up after ${row.attempts} attempts: ${result.error}` };
    const waitMs = result.retryAfterMs === undefined ? backoffMs(row.attempts, config.backoffBaseMs, config.backoffMaxMs) : Math.min(result.retryAfterMs, config.maxRetryAfterMs);
    return { state: 'pending', status: result.status, error: result.error, nextAttemptMs: nowMs + waitMs };
  }

  async function channelFailed(channel: ChannelRow, result: Exclude<DeliveryResult, { outcome: 'sent' }>, nowMs: number): Promise<void> {
    const gone = result.outcome === 'gone';
    const [row] = await db
      .update(alertChannels)
      .set({
        consecutiveFailures: sql`${alertChannels.consecutiveFailures} + 1`,
        updatedAt: new Date(nowMs),
        ...(gone ? { enabled: false, disabledReason: `the receiver answered 410 Gone at ${new Date(nowMs).toISOString()}` } : {}),
      })
      .where(eq(alertChannels.id, channel.id))
      .returning({ failures: alertChannels.consecutiveFailures });
    if (gone) await dropPending(db, channel.id, 'channel disabled: the receiver answered 410 Gone');
    if (!gone && (row?.failures ?? 0) < config.failingAfter) return;
    await sink.raise({
      fingerprint: channelFailingFingerprint(channel.id),
      source: 'delivery',
      name: gone ? 'channel.disabled' : 'channel.failing',
      severity: 'high',
      summary: gone
        ? `Alert channel ${channel.name} (${channel.type}) was disabled: its receiver answered 410 Gone.`
        : `Alert channel ${channel.name} (${channel.type}) keeps failing: ${row?.failures} attempts in a row, last: ${result.error}`,
      orgId: channel.orgId,
      figures: { channelId: channel.id, channelType: channel.type, consecutiveFailures: row?.failures ?? 0, lastError: result.error },
    }, nowMs);
  }

  async function channelRecovered(channel: ChannelRow, nowMs: number): Promise<void> {
    if (channel.consecutiveFailures === 0) return;
    await db.update(alertChannels).set({ consecutiveFailures: 0, updatedAt: new Date(nowMs) }).where(eq(alertChannels.id, channel.id));
    await sink.clear(channelFailingFingerprint(channel.id), nowMs);
  }

  async function handle(row: OutboxRow): Promise<void> {
    const [channel] = await db.select().from(alertChannels).where(eq(alertChannels.id, row.channelId));
    if (!channel?.enabled) {
      await settle(db, row, { state: 'dropped', status: null, error: `channel ${channel ? 'disabled' : 'removed'}` }, clock());
      return;
    }
    const result = await deliverer.deliver(channel, row.webhookId, row.payload as unknown as NotificationPayload, clock());
    const nowMs = clock();
    const settlement = settlementOf(row, result, nowMs);
    metrics.deliveries.inc({ channel_type: channel.type, outcome: settlement.state === 'failed' && result.outcome === 'retry' ? 'failed' : result.outcome });
    if (!(await settle(db, row, settlement, nowMs))) logger.warn({ webhookId: row.webhookId }, 'notification lease ran out before its delivery settled; another sender owns it now');
    if (result.outcome === 'sent') await channelRecovered(channel, nowMs);
    else {
      logger.warn({ webhookId: row.webhookId, channel: channel.id, attempt: row.attempts, outcome: result.outcome, error: result.error }, 'notification delivery failed');
      await channelFailed(channel, result, nowMs);
    }
  }

  async function runOnce(): Promise<number> {
    const free = config.concurrency - inFlight.size;
    if (free <= 0) return 0;
    const rows = await claimDue(db, free, clock(), config.leaseMs);
    const runs = rows.map((row) => {
      const run = handle(row)
        .catch((err) => logger.error({ err, webhookId: row.webhookId }, 'notification delivery could not be settled; it is retried when its lease ends'))
        .finally(() => inFlight.delete(run));
      inFlight.add(run);
      return run;
    });
    await Promise.all(runs);
    return rows.length;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(async () => {
      let claimed = 0;
      try {
        claimed = await runOnce();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'notification outbox unreachable; retrying');
      }
      // A full batch suggests more are due: go again at once.
      schedule(claimed >= config.concurrency ? 0 : config.pollIntervalMs);
    }, delayMs);
    timer.unref?.();
  }

  if (autostart) schedule(0);
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
