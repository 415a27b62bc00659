// The primary of `serve --workers N`: forks N gateway processes that share the listening ports
// through node:cluster, restarts one that dies unexpectedly (with backoff, so a crash loop does
// not spin), and on SIGTERM/SIGINT tells every worker to drain (SIGTERM) and waits for them all.
// A worker that dies before it ever listened failed to start (config, unmigrated database): every
// worker would fail the same way, so the primary stops them all and exits 1 instead of looping.
// Budgets stay exact across workers because they live in Redis, as they do across pods. It also
// answers the workers' /metrics scrapes for the whole group (metrics.ts).
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log/logger.js';
import { serveScrapes } from './metrics.js';

export interface WorkersOptions {
  count: number;
  // Each worker drains for up to this long; the primary waits that plus shutdownMarginMs.
  drainTimeoutMs: number;
  logger: Logger;
}

// Time past the drain bound for a worker to close its stores and exit before it is killed.
const shutdownMarginMs = 5_000;
const restartBaseMs = 100;
const restartMaxMs = 10_000;
// A worker that lived this long was healthy: its next crash restarts quickly again.
const healthyAfterMs = 30_000;

// Resolves with the exit code for the primary once every worker has exited.
export function runWorkers({ count, drainTimeoutMs, logger }: WorkersOptions): Promise<number> {
  let stopping = false;
  let exitCode = 0;
  let failures = 0;
  const startedAt = new Map<Worker, number>();
  const listened = new WeakSet<Worker>();
  let stop: (signal: NodeJS.Signals) => void = () => undefined;

  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
    worker.once('listening', () => listened.add(worker));
  };

  cluster.on('exit', (worker, code, signal) => {
    const livedMs = Date.now() - (startedAt.get(worker) ?? Date.now());
    startedAt.delete(worker);
    if (stopping) return;
    if (!listened.has(worker)) {
      logger.error({ workerPid: worker.process.pid, code, signal }, 'a worker failed to start; stopping');
      exitCode = 1;
      stop('SIGTERM');
      return;
    }
    failures = livedMs >= healthyAfterMs ? 1 : failures + 1;
    const delayMs = Math.min(restartMaxMs, restartBaseMs * 2 ** (failures - 1));
    logger.error({ workerPid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker exited unexpectedly; restarting');
    setTimeout(() => {
      if (!stopping) fork();
    }, delayMs);
  });

  serveScrapes((worker) => listened.has(worker));
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count, pid: process.pid }, 'tollgate primary started');

  return new Promise((resolve) => {
    stop = (signal) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: startedAt.size }, 'shutting down: draining every worker');
      // Always SIGTERM: after a terminal's Ctrl-C a worker already has its SIGINT, and a second
      // SIGINT would kill it undrained.
      for (const worker of startedAt.keys()) worker.process.kill('SIGTERM');
      const killer = setTimeout(() => {
        logger.error({ workers: startedAt.size }, 'workers did not exit within the drain bound; killing them');
        for (const worker of startedAt.keys()) worker.process.kill('SIGKILL');
      }, drainTimeoutMs + shutdownMarginMs);
      const done = () => {
        if (startedAt.size > 0) return;
        clearTimeout(killer);
        resolve(exitCode);
      };
      cluster.on('exit', done);
      done();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
