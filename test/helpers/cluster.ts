// A small production-shaped deployment for tests: a mock upstream, a fresh database in the shared
// Postgres (migrated with the real CLI), a Redis key prefix of its own, and N gateway processes.
import { expect } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { type GatewayProcess, runCli, spawnGateway } from './processes.js';
import { createTestDatabase, redisUrl, uniquePrefix } from './services.js';

export interface Cluster {
  mock: MockUpstream;
  databaseUrl: string;
  prefix: string;
  env: Record<string, string>;
  gateways: GatewayProcess[];
  // Creates a key with the real CLI (org, team and user made as needed).
  key(user: string, extra?: string[]): Promise<{ key: string; id: string; orgId: string; teamId: string | null; userId: string }>;
  stop(): Promise<void>;
}

export async function startCluster(label: string, replicas: number, extraEnv: Record<string, string> = {}): Promise<Cluster> {
  const mock = await startMockUpstream();
  const database = await createTestDatabase(label);
  const prefix = uniquePrefix(label);
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    TOLLGATE_REDIS_KEY_PREFIX: prefix,
    OPENAI_BASE_URL: `${mock.url}/v1`,
    OPENAI_API_KEY: 'sk-upstream',
    ...extraEnv,
  };
  const migrated = await runCli(['migrate'], env);
  expect(migrated.code, migrated.stderr).toBe(0);
  const gateways: GatewayProcess[] = [];
  try {
    for (let i = 0; i < replicas; i++) gateways.push(await spawnGateway(env));
  } catch (err) {
    // The suite never gets this deployment to stop: stop what started.
    await Promise.all(gateways.map((g) => g.stop('SIGKILL')));
    await mock.close();
    await database.drop();
    throw err;
  }
  return {
    mock,
    databaseUrl: database.url,
    prefix,
    env,
    gateways,
    async key(user, extra = []) {
      const created = await runCli(['keys', 'create', '--user', user, ...extra, '--json'], env);
      expect(created.code, created.stderr).toBe(0);
      return JSON.parse(created.stdout);
    },
    async stop() {
      await Promise.all(gateways.map((g) => g.stop()));
      await mock.close();
      await database.drop();
    },
  };
}
