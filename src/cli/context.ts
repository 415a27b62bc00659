// Opens what offline CLI commands need: config, the database and the invalidation bus (Redis
// when configured, so running replicas hear about changes made from the command line).
import { createLocalInvalidationBus, createRedisInvalidationBus, type InvalidationBus } from '../auth/invalidation.js';
import { loadConfig, type RuntimeConfig } from '../config/load.js';
import { openDatabase, type Database } from '../db/database.js';
import { connectRedis } from '../redis/connect.js';

export interface Offline {
  config: RuntimeConfig;
  database: Database;
  bus: InvalidationBus;
  close(): Promise<void>;
}

export async function openOffline(): Promise<Offline> {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  if (database.kind === 'pglite') await database.migrate();
  else await database.assertMigrated();
  const redis = connectRedis(config);
  const bus = redis ? createRedisInvalidationBus(redis, config.redisKeyPrefix) : createLocalInvalidationBus();
  return {
    config,
    database,
    bus,
    async close() {
      await bus.close();
      await redis?.quit();
      await database.close();
    },
  };
}
