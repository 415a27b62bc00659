// Keys made through the admin routes in the test's own process, as `tollgate keys create` makes
// them (a CLI process per key is slow on a busy machine); the invalidation reaches running replicas
// over the deployment's Redis, whatever its topology.
import { createAdminApi } from '../../src/admin/index.js';
import { createRedisInvalidationBus } from '../../src/auth/invalidation.js';
import { routerClient } from '../../src/cli/admin-client.js';
import { createKeyFor, type CreatedKey, type KeyRequest } from '../../src/cli/commands/keys.js';
import { loadConfig } from '../../src/config/load.js';
import { openDatabase } from '../../src/db/database.js';
import { connectRedis } from '../../src/redis/connect.js';

export interface ControlPlane {
  createKey(request: KeyRequest): Promise<CreatedKey>;
  close(): Promise<void>;
}

// env: the deployment's (DATABASE_URL, REDIS_URL, TOLLGATE_REDIS_KEY_PREFIX).
export async function openControlPlane(env: Record<string, string>): Promise<ControlPlane> {
  const config = loadConfig({ env });
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: '' });
  const publisher = connectRedis(config)!;
  publisher.on('error', () => {});
  const bus = createRedisInvalidationBus(publisher, config.redisKeyPrefix);
  const admin = routerClient(createAdminApi(database.db, bus, config.admin).router, { type: 'cli', id: 'test', role: 'admin', userId: null });
  return {
    createKey: (request) => createKeyFor(admin, request),
    async close() {
      await bus.close();
      publisher.disconnect();
      await database.close();
    },
  };
}
