// The reaper: returns reservations whose lease ran out (their replica crashed or hung) so their
// reserved amounts stop blocking budgets. Every replica may run one; the scripts are idempotent,
// so overlapping reapers only share the work. Leases live in one sorted set per org (a cross-slot
// global set would break Redis Cluster), and the orgs come from the control plane's list.
import type { BudgetStore } from './store.js';

export interface BudgetReaperOptions {
  readonly store: BudgetStore;
  readonly listOrgIds: () => Promise<readonly string[]>;
  readonly intervalMs: number;
  // Reservations returned per script call; an org with more is drained over several calls.
  readonly batchSize?: number;
  readonly clock?: () => number;
  readonly onError?: (err: Error) => void;
}

export interface BudgetReaper {
  // One pass over every org; resolves with how many reservations were returned.
  runOnce(): Promise<number>;
  // Stops the timer and waits for a pass in progress.
  stop(): Promise<void>;
}

export function startBudgetReaper(options: BudgetReaperOptions): BudgetReaper {
  const { store, listOrgIds, intervalMs } = options;
  const batchSize = options.batchSize ?? 500;
  const clock = options.clock ?? Date.now;
  const onError = options.onError ?? (() => {});
  let stopped = false;
  let running: Promise<number> | null = null;
  let timer: NodeJS.Timeout | null = null;

  // An org whose store is away (its Cluster node is down) is skipped, not the orgs after it; the
  // pass reports the first failure once it has been over every org.
  async function pass(): Promise<number> {
    let total = 0;
    let failure: Error | undefined;
    for (const orgId of await listOrgIds()) {
      try {
        for (;;) {
          const reaped = await store.reapExpired(orgId, clock(), batchSize);
          total += reaped;
          if (reaped < batchSize || stopped) break;
        }
      } catch (err) {
        failure ??= err as Error;
      }
    }
    if (failure) throw failure;
    return total;
  }

  function runOnce(): Promise<number> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err: Error) => onError(err))
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  }
  schedule();

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => 0);
    },
  };
}
