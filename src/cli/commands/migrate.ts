import { loadConfig } from '../../config/load.js';
import { openDatabase } from '../../db/database.js';
import type { Command } from '../command.js';

export const migrate: Command = {
  name: 'migrate',
  summary: 'Apply the database migrations in drizzle/migrations.',
  options: {},
  async run({ out }) {
    const config = loadConfig();
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      await database.migrate();
      out(`migrated ${database.kind} database`);
    } finally {
      await database.close();
    }
  },
};
