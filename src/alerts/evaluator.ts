// Runs the periodic alert rules on the one replica that holds the evaluator lock (leader.ts).
// Each rule says, per fingerprint it watches, whether its condition holds; the evaluator writes
// what changed to the sink: a raise when a condition starts (and every refreshMs while it lasts,
// for last-seen and figures), a clear when it ends. A write the alert store cannot take (Postgres
// down) waits in a bounded queue with the instant it was observed and is written in order once
// the store answers, so an alert seen during an outage is stored with that first-seen time and
// its resolved notice follows it.
//
// A holder that loses Redis keeps evaluating (it held the lock last, and it is the replica that
// can report Redis down); should the cut be its own, another replica takes the lock after its
// lifetime and both evaluate until it heals. Writes are idempotent by fingerprint, so that
// overlap can re-send a notice but never stores an alert twice.
import type { Logger } from 'pino';
import type { LeaderLock, LeaderState } from './leader.js';
import type { AlertInput, AlertRule, AlertSink } from './source.js';

export interface ScheduledRule {
  readonly rule: AlertRule;
  // Evaluated at most this often (read at every evaluation); the evaluator's interval when omitted.
  readonly intervalMs?: number | (() => number);
}

export interface EvaluatorOptions {
  readonly lock: LeaderLock;
  readonly rules: readonly ScheduledRule[];
  readonly sink: AlertSink;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly clock?: () => number;
  // A firing alert's last-seen time and figures are rewritten this often.
  readonly refreshMs?: number;
  readonly maxPending?: number;
  // Run by the holder before the rules at every evaluation (the rules' settings are read again).
  readonly prepare?: () => Promise<void>;
}

export interface Evaluator {
  // One evaluation: take or renew the lock, run the rules that are due, write the changes.
  runOnce(): Promise<LeaderState>;
  // Whether this replica evaluated at its last turn, and the writes waiting for the alert store.
  readonly leading: boolean;
  readonly pending: number;
  stop(): Promise<void>;
}

interface Write {
  readonly input: AlertInput;
  readonly firing: boolean;
  readonly atMs: number;
}

export function startEvaluator(options: EvaluatorOptions, autostart = true): Evaluator {
  const { lock, sink, logger } = options;
  const clock = options.clock ?? Date.now;
  const refreshMs = options.refreshMs ?? 60_000;
  const maxPending = options.maxPending ?? 10_000;
  // What the store last took per fingerprint (and when), and the writes still to make, in order.
  const written = new Map<string, { firing: boolean; atMs: number }>();
  const queue: Write[] = [];
  // Per fingerprint in the queue: the state its last write sets, and how many writes it has there.
  const queued = new Map<string, { firing: boolean; count: number }>();
  const lastRunMs = new Map<AlertRule, number>();
  let leading = false;
  let stopped = false;
  let running: Promise<LeaderState> | undefined;
  let timer: NodeJS.Timeout | undefined;

  function forget(): void {
    written.clear();
    queue.length = 0;
    queued.clear();
    lastRunMs.clear();
  }

  function dequeue(): Write {
    const write = queue.shift()!;
    const entry = queued.get(write.input.fingerprint)!;
    if (--entry.count === 0) queued.delete(write.input.fingerprint);
    return write;
  }

  function observe(input: AlertInput, firing: boolean, atMs: number): void {
    const latest = queued.get(input.fingerprint);
    if (latest) {
      if (latest.firing === firing) return;
    } else {
      const known = written.get(input.fingerprint);
      // Unknown fingerprints are written even when clear: the previous holder may have left them firing.
      if (known && known.firing === firing && (!firing || atMs - known.atMs < refreshMs)) return;
    }
    if (queue.length >= maxPending) {
      const dropped = dequeue();
      logger.error({ fingerprint: dropped.input.fingerprint }, 'alert write dropped: too many waiting for the alert store');
    }
    queue.push({ input, firing, atMs });
    queued.set(input.fingerprint, { firing, count: (latest?.count ?? 0) + 1 });
    if (firing && !written.get(input.fingerprint)?.firing) logger.warn({ fingerprint: input.fingerprint, severity: input.severity }, `alert condition: ${input.summary}`);
  }

  async function flush(): Promise<void> {
    while (queue.length > 0) {
      const next = queue[0]!;
      try {
        if (next.firing) await sink.raise(next.input, next.atMs);
        else await sink.clear(next.input.fingerprint, next.atMs);
      } catch (err) {
        logger.warn({ err: (err as Error).message, waiting: queue.length }, 'alert store unreachable; rule results wait for it');
        return;
      }
      written.set(next.input.fingerprint, { firing: next.firing, atMs: next.atMs });
      dequeue();
    }
  }

  async function evaluate(nowMs: number): Promise<void> {
    await options.prepare?.();
    for (const { rule, intervalMs = options.intervalMs } of options.rules) {
      const last = lastRunMs.get(rule);
      if (last !== undefined && nowMs - last < (typeof intervalMs === 'function' ? intervalMs() : intervalMs)) continue;
      lastRunMs.set(rule, nowMs);
      try {
        for (const { input, firing } of await rule.evaluate(nowMs)) observe(input, firing, nowMs);
      } catch (err) {
        // No verdict this time: what the rule said before stands.
        logger.warn({ rule: rule.name, err: (err as Error).message }, 'alert rule could not be evaluated');
      }
    }
  }

  async function runOnce(): Promise<LeaderState> {
    const state = await lock.hold();
    const leads = state.kind === 'leader' || (state.kind === 'unknown' && state.heldBefore);
    if (leads !== leading) {
      logger.info({ owner: lock.owner, token: state.kind === 'leader' ? state.token : undefined }, leads ? 'alert evaluator: this replica evaluates the rules' : 'alert evaluator: another replica evaluates the rules');
      leading = leads;
      forget();
    }
    if (!leads) return state;
    await evaluate(clock());
    // A holder whose lock ran out while it evaluated writes nothing: another may hold it now.
    if (state.kind === 'leader' && performance.now() > state.untilMs) return state;
    await flush();
    return state;
  }

  // One evaluation at a time, whether the timer or a caller asks.
  const once = (): Promise<LeaderState> => (running ??= runOnce().finally(() => (running = undefined)));

  function tick(): void {
    once()
      .catch((err: unknown) => logger.error({ err }, 'alert evaluation failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs).unref();
      });
  }
  if (autostart) tick();

  return {
    runOnce: once,
    get leading() {
      return leading;
    },
    get pending() {
      return queue.length;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => {});
      if (leading) await lock.release().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'alert evaluator lock not released; it expires by itself'));
      leading = false;
    },
  };
}
