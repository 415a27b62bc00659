import { startApp } from '../../app.js';
import { loadConfig } from '../../config/load.js';
import type { Command } from '../command.js';

export const serve: Command = {
  name: 'serve',
  summary: 'Start the gateway (embedded stores unless REDIS_URL / DATABASE_URL are set).',
  options: {},
  async run() {
    const app = await startApp(loadConfig());
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
  },
};
