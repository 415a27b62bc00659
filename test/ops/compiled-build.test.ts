// The container image runs what scripts/build.mjs writes: compiled JavaScript, no TypeScript loader.
// Builds into a temporary directory and runs that build's CLI and gateway, so everything the code
// finds by a path relative to itself must be there: the tokenizer worker (piscina), SQL migrations,
// the console's files, and on Redis the Lua scripts.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { type GatewayProcess, runCli, spawnGateway } from '../helpers/processes.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]));

let outDir: string;
let entry: string;
let mock: MockUpstream;
const stores = (await redisAvailable()) && (await postgresAvailable());

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'tollgate-build-'));
  await promisify(execFile)(process.execPath, [join(root, 'scripts/build.mjs'), outDir]);
  // As the image's /app/node_modules beside /app/src: production dependencies next to the build.
  symlinkSync(join(root, 'node_modules'), join(outDir, 'node_modules'), 'dir');
  entry = join(outDir, 'bin/tollgate.js');
  mock = await startMockUpstream();
}, 300_000);

afterAll(async () => {
  await mock?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

const upstreamEnv = () => ({ OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: 'sk-upstream' });

// Every prompt goes to the worker pool, and a token budget makes each request count its prompt.
// A count slower than the pool's timeout would come back as an estimate; on a loaded machine a
// fresh worker loading its encoder can take that long, so the timeout is out of the way here.
const meteringEnv = {
  TOLLGATE_TOKENS__INLINE_MAX_CHARS: '1',
  TOLLGATE_TOKENS__POOL_THREADS: '1',
  TOLLGATE_TOKENS__POOL_TASK_TIMEOUT_MS: '60000',
  TOLLGATE_BUDGET__BUDGETS: JSON.stringify([{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'total', limit: 100_000_000 }]),
};

async function createKey(env: Record<string, string>, org: string): Promise<string> {
  const created = await runCli(['keys', 'create', '--org', org, '--user', 'ops', '--json'], env, entry);
  expect(created.code, created.stderr).toBe(0);
  return (JSON.parse(created.stdout) as { key: string }).key;
}

async function chat(gateway: GatewayProcess, key: string) {
  const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0, timeout: 30_000 });
  return client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hello from the compiled build [mock prompt_tokens=9]' }] });
}

describe('the compiled build', () => {
  it('holds JavaScript and the assets the code reads, and no TypeScript or loader', () => {
    const files = walk(outDir).map((file) => relative(outDir, file)).filter((file) => !file.startsWith('node_modules'));
    expect(files.filter((file) => file.endsWith('.ts'))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['bin/tollgate.js', 'src/cli/main.js', 'workers/tokenize.js', 'src/budget/lua/reserve.lua', 'src/console/static/index.html', 'drizzle/migrations/meta/_journal.json', 'config/tollgate.yaml', 'package.json']));
    expect(files.some((file) => file.startsWith('bin/typescript'))).toBe(false);
    expect(readFileSync(join(outDir, 'workers/tokenize.js'), 'utf8')).toContain('../src/tokens/count-text.js');
  });

  describe('embedded (PGlite, in-process budgets)', () => {
    let gateway: GatewayProcess;
    let key: string;
    let dataDir: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'tollgate-build-data-'));
      const adminKey = 'tga-test-bootstrap-key-compiled-0123456789';
      const env = { TOLLGATE_DATA_DIR: dataDir, TOLLGATE_ADMIN_KEY: adminKey, ...upstreamEnv(), ...meteringEnv };
      gateway = await spawnGateway(env, 120_000, entry);
      // Through the running gateway's admin API: PGlite belongs to the gateway's process.
      key = await createKey({ ...env, TOLLGATE_URL: gateway.url }, 'compiled-embedded');
    }, 300_000);

    afterAll(async () => {
      await gateway?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('answers /health and serves the console page and its assets', async () => {
      expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
      const page = await fetch(`${gateway.url}/dashboard`);
      expect(page.status).toBe(200);
      const assetPath = /src="(\/dashboard\/assets\/[0-9a-f]+\/app\.js)"/.exec(await page.text())?.[1];
      expect(assetPath).toBeDefined();
      expect((await fetch(`${gateway.url}${assetPath}`)).status).toBe(200);
    }, 60_000);

    it('meters a request against the mock upstream, counting the prompt in the worker pool', async () => {
      const completion = await chat(gateway, key);
      expect(completion.usage?.prompt_tokens).toBe(9);
      const counted = await fetch(`${gateway.url}/v1/token_count`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', input: 'The quick brown fox jumps over the lazy dog.' }),
      });
      expect(await counted.json()).toMatchObject({ prompt_tokens: expect.any(Number), estimated: false });
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      expect(metrics).toMatch(/^tollgate_requests_total\{[^}]*status="200"[^}]*\} 1$/m);
    }, 120_000);
  });

  describe.skipIf(!stores)('on Redis and Postgres', () => {
    let gateway: GatewayProcess;
    let key: string;
    let database: Awaited<ReturnType<typeof createTestDatabase>>;

    beforeAll(async () => {
      database = await createTestDatabase('compiled_build');
      const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl, TOLLGATE_REDIS_KEY_PREFIX: uniquePrefix('compiled'), ...upstreamEnv(), ...meteringEnv };
      const migrated = await runCli(['migrate'], env, entry);
      expect(migrated.code, migrated.stderr).toBe(0);
      key = await createKey(env, 'compiled-stores');
      gateway = await spawnGateway(env, 120_000, entry);
    }, 300_000);

    afterAll(async () => {
      await gateway?.stop();
      await database?.drop();
    });

    it('migrates with the shipped SQL and meters through the Lua budget scripts', async () => {
      expect((await fetch(`${gateway.url}/ready`)).status).toBe(200);
      const completion = await chat(gateway, key);
      expect(completion.usage?.prompt_tokens).toBe(9);
    }, 120_000);
  });
});
