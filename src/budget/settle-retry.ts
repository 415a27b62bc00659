// Settles the store could not take (Redis, or the Cluster node holding the org, away for a moment)
// are tried again until they land. Dropping one would leave its reservation to the reaper, which
// returns it as if nothing had been served, so the budget would admit that usage a second time.
// Trying again is safe: settle is idempotent per reservation id, and one landing after the reaper
// is charged as late. Bounded in count and in time (the reservation record must still be there);
// what it gives up on, and what it holds when the process stops, goes to the ledger another way.
// A retried settle's threshold crossings are not reported.
import { BudgetStoreUnavailableError, type StoreSettleRequest, type StoreSettleResult } from './store.js';

export interface SettleRetryOptions {
  readonly settle: (request: StoreSettleRequest) => Promise<StoreSettleResult>;
  readonly maxPending: number;
  // A settle still failing this long after its first failure is given up.
  readonly retryForMs: number;
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly onGiveUp: (request: StoreSettleRequest, err: Error) => void;
  readonly clock?: () => number;
}

export interface SettleRetry {
  // False when full: the caller records the usage another way at once.
  add(request: StoreSettleRequest): boolean;
  readonly pending: number;
  // Gives up on everything still pending and takes no more.
  stop(): void;
}

export function createSettleRetry(options: SettleRetryOptions): SettleRetry {
  const { settle, maxPending, retryForMs, onGiveUp } = options;
  const firstDelayMs = options.firstDelayMs ?? 200;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const clock = options.clock ?? Date.now;
  const pending = new Map<string, { request: StoreSettleRequest; firstFailedAtMs: number }>();
  let delayMs = firstDelayMs;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let stopped = false;

  function schedule(): void {
    if (timer || running || stopped || pending.size === 0) return;
    timer = setTimeout(() => void attempt(), delayMs);
    timer.unref();
  }

  async function attempt(): Promise<void> {
    timer = undefined;
    running = true;
    let failed = false;
    await Promise.all([...pending].map(async ([id, entry]) => {
      try {
        await settle(entry.request);
        pending.delete(id);
      } catch (err) {
        if (stopped || !pending.has(id)) return;
        if (err instanceof BudgetStoreUnavailableError && clock() - entry.firstFailedAtMs < retryForMs) {
          failed = true;
          return;
        }
        pending.delete(id);
        onGiveUp(entry.request, err as Error);
      }
    }));
    running = false;
    delayMs = failed ? Math.min(delayMs * 2, maxDelayMs) : firstDelayMs;
    schedule();
  }

  return {
    add(request) {
      if (stopped || pending.size >= maxPending) return false;
      if (!pending.has(request.id)) pending.set(request.id, { request, firstFailedAtMs: clock() });
      schedule();
      return true;
    },
    get pending() {
      return pending.size;
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const { request } of pending.values()) onGiveUp(request, new BudgetStoreUnavailableError('stopped before the budget store took this settle'));
      pending.clear();
    },
  };
}
