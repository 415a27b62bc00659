// Starts a real gateway in this process against a mock upstream, with a fresh embedded (or given)
// database and a real key, the way a user would after `tollgate keys create`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type App, startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createAdminApi } from '../../src/admin/index.js';
import { routerClient } from '../../src/cli/admin-client.js';
import { createKeyFor, type CreatedKey, type KeyRequest } from '../../src/cli/commands/keys.js';
import type { MockUpstream } from '../../bench/mock-upstream.js';

export interface TestGateway {
  app: App;
  url: string;
  key: string;
  created: CreatedKey;
  newKey(input?: Partial<KeyRequest>): Promise<CreatedKey>;
  // The admin API of this gateway, called in-process as an admin.
  admin: ReturnType<typeof routerClient>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  mock: MockUpstream;
  env?: Record<string, string>;
  overrides?: Record<string, unknown>;
  // The embedded data directory to use and keep (a restart test reopens it); a fresh temporary
  // one, removed on close, by default.
  dataDir?: string;
}

export async function startTestGateway({ mock, env = {}, overrides = {}, ...options }: TestGatewayOptions): Promise<TestGateway> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tollgate-test-'));
  const config = loadConfig({
    env: {
      TOLLGATE_DATA_DIR: dataDir,
      OPENAI_BASE_URL: `${mock.url}/v1`,
      OPENAI_API_KEY: 'sk-upstream-openai',
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: 'sk-ant-upstream',
      ...env,
    },
    overrides: { 'server.port': 0, 'server.host': '127.0.0.1', 'server.drainTimeoutMs': 2_000, ...overrides },
  });
  const app = await startApp(config, { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  const admin = routerClient(createAdminApi(app.database.db, app.bus, config.admin).router, { type: 'cli', id: 'test', role: 'admin', userId: null });
  const newKey = async (input: Partial<KeyRequest> = {}) => {
    const created = await createKeyFor(admin, { org: 'acme', user: 'alice', ...input });
    // The local invalidation bus applies changes asynchronously; tests want them in force now.
    await app.principals.apply({ kind: 'key', id: created.id });
    return created;
  };
  const created = await newKey();
  return {
    app,
    url: app.url,
    key: created.key,
    created,
    newKey,
    admin,
    async close() {
      await app.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
