// Keeps a replica's copy of control-plane rules current: loaded at start, reloaded on every
// {kind:'budgets'} (or 'all') invalidation and periodically as a backstop. Loads are serialised
// so an older, slower one never overwrites a newer one, and a failed load keeps what was in force.
import type { Logger } from 'pino';
import type { InvalidationBus } from '../auth/invalidation.js';

export interface ReloadWatch {
  // Resolves once the latest rules are in force in this process.
  reload(): Promise<void>;
  stop(): void;
}

export async function watchReloads(options: { load: () => Promise<void>; bus: InvalidationBus; refreshMs: number; logger: Logger; what: string }): Promise<ReloadWatch> {
  const { load, bus, refreshMs, logger, what } = options;
  let queue: Promise<void> = Promise.resolve();
  const reload = (): Promise<void> => {
    queue = queue.then(load).catch((err: unknown) => logger.error({ err }, `${what} reload failed; keeping the previous ones`));
    return queue;
  };
  await load();
  await bus.subscribe((message) => {
    if (message.kind === 'budgets' || message.kind === 'all') void reload();
  });
  const timer = setInterval(() => void reload(), refreshMs);
  timer.unref();
  return { reload, stop: () => clearInterval(timer) };
}
