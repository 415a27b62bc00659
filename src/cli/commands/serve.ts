import cluster from 'node:cluster';
import { startApp } from '../../app.js';
import { usableCores } from '../../cluster/cores.js';
import { limitHeapGrowth } from '../../cluster/heap-growth.js';
import { runWorkers } from '../../cluster/workers.js';
import { loadConfig, type RuntimeConfig } from '../../config/load.js';
import { createLogger } from '../../log/logger.js';
import type { Command } from '../command.js';
import { UsageError } from './keys.js';

// --workers, else server.workers, else one per usable core when the stores are shared; embedded stores
// (PGlite, the in-process budget twin) belong to one process, so they never get more than one.
export function workerCount(config: RuntimeConfig, flag: string | undefined): number {
  const shared = Boolean(config.redisUrl || config.redisClusterNodes) && Boolean(config.databaseUrl);
  const asked = flag === undefined ? config.server.workers : Number(flag);
  if (asked === undefined) return shared ? usableCores() : 1;
  if (!Number.isInteger(asked) || asked < 1 || asked > 256) throw new UsageError('--workers must be a whole number from 1 to 256');
  if (asked > 1 && !shared) {
    throw new UsageError(`--workers ${asked} needs REDIS_URL and DATABASE_URL: the embedded database and budget counters belong to one process`);
  }
  return asked;
}

export const serve: Command = {
  name: 'serve',
  summary: 'Start the gateway (embedded stores unless REDIS_URL / DATABASE_URL are set); --workers N processes share the port.',
  options: { workers: { type: 'string' } },
  async run({ values }) {
    const config = loadConfig();
    // A forked worker re-runs this command with the primary's arguments: it serves, it never forks.
    const workers = cluster.isWorker ? 1 : workerCount(config, values.workers as string | undefined);
    if (workers > 1) {
      const logger = createLogger(config.log.level);
      const code = await runWorkers({ count: workers, drainTimeoutMs: config.server.drainTimeoutMs, logger });
      logger.flush();
      return code;
    }
    limitHeapGrowth(config.server.heapGrowingPercent);
    try {
      // Workers say which of them logged a line (which pid answered a request, which one crashed).
      const logger = cluster.isWorker ? createLogger(config.log.level).child({ worker: cluster.worker!.id, pid: process.pid }) : undefined;
      const app = await startApp(config, { logger });
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          app.logger.info({ signal }, 'shutting down: draining open requests');
          resolve();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await app.close();
      app.logger.flush();
    } finally {
      // The channel to the primary would keep a drained worker, or one that failed to start, alive.
      cluster.worker?.disconnect();
    }
  },
};
