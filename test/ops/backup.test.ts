// Backup and restore of the control plane and the ledger: a gateway seeded through the admin API
// and real requests is backed up, restored into an empty database (a new PGlite directory, a new
// Postgres database) and a fresh gateway started on it: the old key still works, every backed-up
// row is identical, and the budget counters come back from the ledger (Redis starts empty).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { rowsOf } from '../../src/auth/principal-loader.js';
import { writeBackup } from '../../src/backup/dump.js';
import { restoreBackup } from '../../src/backup/load.js';
import { shippedLevel } from '../../src/backup/migration-level.js';
import { backedUpTables, publicTables } from '../../src/backup/tables.js';
import { type Database, openDatabase } from '../../src/db/database.js';
import { createAdminApi } from '../../src/admin/index.js';
import { createLocalInvalidationBus } from '../../src/auth/invalidation.js';
import { routerClient } from '../../src/cli/admin-client.js';
import { createKeyFor } from '../../src/cli/commands/keys.js';
import { loadConfig } from '../../src/config/load.js';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { runCli } from '../helpers/processes.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';
import { unusedPool } from '../unit/tokens-fixtures.js';

const servicesUp = (await redisAvailable()) && (await postgresAvailable());

// Mock usage per answer: 10 prompt + 3 completion tokens.
const perRequest = 13;
const limit = 200;
const content = 'hi';

let mock: MockUpstream;
let scratch: string;
beforeAll(async () => {
  mock = await startMockUpstream();
  scratch = mkdtempSync(join(tmpdir(), 'tollgate-backup-'));
});
afterAll(async () => {
  await mock?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const ask = (gw: TestGateway, key: string, max_tokens: number) =>
  new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', max_tokens, messages: [{ role: 'user', content }] });

async function expectRemaining(gw: TestGateway, key: string, remaining: number): Promise<void> {
  const counter = createPromptCounter({ inlineMaxChars: 4096, pool: unusedPool });
  const prompt = (await counter.countPrompt('chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }, gw.app.config.catalog.resolve('gpt-4o-mini')!)).promptTokens;
  // A reservation is the prompt plus max_tokens: one token more than remains is refused.
  await expect(ask(gw, key, remaining - prompt + 1)).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  await ask(gw, key, remaining - prompt);
}

// Every backed-up table's rows as Postgres prints them, sorted: equal snapshots are equal data.
async function snapshot(database: Database): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of backedUpTables(await publicTables(database.db))) {
    out[t.name] = rowsOf<{ line: string }>(await database.db.execute(sql`select row_to_json(t)::text as line from ${sql.identifier(t.name)} t`)).map((r) => r.line).sort();
  }
  return out;
}

const answered = async (database: Database) => Number(rowsOf<{ n: string }>(await database.db.execute(sql`select count(*) as n from usage_events where status = 200`))[0]!.n);

interface Seeded {
  key: string;
  otherKey: string;
  requests: number;
}

// Keys and a stored budget through the admin API, usage through real requests: 3 with the first
// key, 2 with a second key of the same user.
async function seed(gw: TestGateway): Promise<Seeded> {
  await gw.admin.call('PUT', '/budgets', { body: { scope: 'user', scopeId: gw.created.userId, metric: 'tokens', window: 'day', limit } });
  // The rule is in force once a request asking for more than it allows is refused.
  // A probe sent before it loads is answered and charged like any other request: count those.
  let probes = 0;
  const probe = () =>
    ask(gw, gw.key, limit + 1).then(
      () => {
        probes++;
        return 200;
      },
      (err: { status?: number }) => err.status,
    );
  await expect.poll(probe, { timeout: 5_000 }).toBe(429);
  const other = await gw.newKey({ name: 'second' });
  for (let i = 0; i < 3; i++) await ask(gw, gw.key, 20);
  for (let i = 0; i < 2; i++) await ask(gw, other.key, 20);
  const requests = 5 + probes;
  await expect.poll(() => answered(gw.app.database), { timeout: 10_000 }).toBe(requests);
  return { key: gw.key, otherKey: other.key, requests };
}

async function backupOf(database: Database, label: string): Promise<string> {
  const file = join(scratch, `${label}.tgbak`);
  const summary = await writeBackup(database, file);
  expect(summary.migrationLevel).toBe(shippedLevel());
  expect(summary.rows.usage_events).toBeGreaterThanOrEqual(5);
  return file;
}

describe('tollgate backup and restore', () => {
  it('brings an embedded (PGlite) gateway back on a new data directory: same keys, budgets and ledger, counters rebuilt', async () => {
    const sourceDir = mkdtempSync(join(scratch, 'source-'));
    const targetDir = mkdtempSync(join(scratch, 'target-'));
    const first = await startTestGateway({ mock, dataDir: sourceDir });
    const seeded = await seed(first);
    await first.close();
    const source = await openDatabase({ dataDir: sourceDir });
    const file = await backupOf(source, 'pglite');
    const before = await snapshot(source);
    await source.close();
    const target = await openDatabase({ dataDir: targetDir });
    const restored = await restoreBackup(target, file);
    expect(restored.rows.api_keys).toBe(2);
    expect(await snapshot(target)).toEqual(before);
    await target.close();
    const second = await startTestGateway({ mock, dataDir: targetDir });
    try {
      await ask(second, seeded.otherKey, 20);
      await expectRemaining(second, seeded.key, limit - (seeded.requests + 1) * perRequest);
    } finally {
      await second.close();
    }
  }, 420_000);

  it.skipIf(!servicesUp)('brings a Postgres gateway back on a new database: same keys, budgets and ledger, Redis counters rebuilt from the ledger', async () => {
    const sourceDb = await createTestDatabase('backup_source');
    const targetDb = await createTestDatabase('backup_target');
    const migrating = await openDatabase({ databaseUrl: sourceDb.url, dataDir: '' });
    await migrating.migrate();
    await migrating.close();
    const redis = new Redis(redisUrl);
    const prefixes = [uniquePrefix('backup-a'), uniquePrefix('backup-b')];
    const env = (url: string, prefix: string) => ({ REDIS_URL: redisUrl, DATABASE_URL: url, TOLLGATE_REDIS_KEY_PREFIX: prefix });
    try {
      const first = await startTestGateway({ mock, overrides: { 'usage.orgRefreshMs': 200 }, env: env(sourceDb.url, prefixes[0]!) });
      const seeded = await seed(first).finally(() => first.close());

      const source = await openDatabase({ databaseUrl: sourceDb.url, dataDir: '' });
      const file = await backupOf(source, 'postgres');
      const before = await snapshot(source);
      await source.close();

      const target = await openDatabase({ databaseUrl: targetDb.url, dataDir: '' });
      await restoreBackup(target, file);
      expect(await snapshot(target)).toEqual(before);
      await target.close();

      const second = await startTestGateway({ mock, overrides: { 'usage.orgRefreshMs': 200 }, env: env(targetDb.url, prefixes[1]!) });
      try {
        await expectRemaining(second, seeded.key, limit - seeded.requests * perRequest);
        const metrics = await (await fetch(`${second.url}/metrics`)).text();
        expect(metrics).toMatch(/tollgate_budget_rebuilds_total\{scope="user",metric="tokens",window="day"\} [1-9]/);
        expect((await redis.keys(`${prefixes[1]}*`)).length).toBeGreaterThan(0);
      } finally {
        await second.close();
      }
    } finally {
      for (const prefix of prefixes) {
        const left = await redis.keys(`${prefix}*`);
        if (left.length > 0) await redis.unlink(...left);
      }
      redis.disconnect();
      await sourceDb.drop();
      await targetDb.drop();
    }
  }, 240_000);
});

describe.skipIf(!servicesUp)('tollgate backup and restore on the command line', () => {
  const databases: Array<{ url: string; drop(): Promise<void> }> = [];
  const newDatabase = async () => {
    const created = await createTestDatabase('backup_cli');
    databases.push(created);
    return created.url;
  };
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });
  const cli = (args: string[], url: string) => runCli(args, { DATABASE_URL: url, TOLLGATE_DATA_DIR: scratch });
  const open = (url: string) => openDatabase({ databaseUrl: url, dataDir: '' });

  it('backs up, restores into an empty database, refuses a non-empty one unless --force, and never overwrites a backup', async () => {
    const sourceUrl = await newDatabase();
    const source = await open(sourceUrl);
    await source.migrate();
    const admin = routerClient(createAdminApi(source.db, createLocalInvalidationBus(), loadConfig({ env: {} }).admin).router, { type: 'cli', id: 'test', role: 'admin', userId: null });
    await createKeyFor(admin, { org: 'acme', team: 'research', user: 'bob', name: 'laptop' });
    const before = await snapshot(source);
    await source.close();

    const file = join(scratch, 'cli.tgbak');
    expect(await cli(['backup', '--out', file], sourceUrl)).toMatchObject({ code: 0, stdout: expect.stringContaining('backed up') });
    const targetUrl = await newDatabase();
    const restored = await cli(['restore', file, '--json'], targetUrl);
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ migrationLevel: shippedLevel(), rows: { orgs: 1, teams: 1, users: 1, api_keys: 1 } });
    expect(await cli(['restore', file], targetUrl)).toMatchObject({ code: 1, stderr: expect.stringContaining('not empty') });

    // The rest in this process: a CLI start costs seconds on a busy machine.
    const target = await open(targetUrl);
    try {
      expect(await snapshot(target)).toEqual(before);
      await expect(writeBackup(target, file)).rejects.toMatchObject({ code: 'EEXIST' });
      await restoreBackup(target, file, { force: true });
      expect(await snapshot(target)).toEqual(before);
    } finally {
      await target.close();
    }

    // A damaged file is refused and leaves the database empty: a row edited, then the trailer cut.
    const lines = gunzipSync(readFileSync(file)).toString('utf8').trimEnd().split('\n');
    const damaged = await open(await newDatabase());
    try {
      writeFileSync(join(scratch, 'edited.tgbak'), gzipSync(`${lines.map((l) => l.replace('"name":"bob"', '"name":"eve"')).join('\n')}\n`));
      await expect(restoreBackup(damaged, join(scratch, 'edited.tgbak'))).rejects.toThrow('does not match its row count and checksum');
      writeFileSync(join(scratch, 'cut.tgbak'), gzipSync(`${lines.slice(0, -1).join('\n')}\n`));
      await expect(restoreBackup(damaged, join(scratch, 'cut.tgbak'))).rejects.toThrow('truncated');
      expect(Object.values(await snapshot(damaged)).flat()).toEqual([]);
    } finally {
      await damaged.close();
    }
  }, 300_000);

  it('refuses a backup from a newer schema before touching the database', async () => {
    const file = join(scratch, 'newer.tgbak');
    const header = { $: 'header', format: 'tollgate-backup', version: 1, createdAt: new Date().toISOString(), source: 'postgres', migrationLevel: shippedLevel() + 1, tables: [] };
    writeFileSync(file, gzipSync(`${JSON.stringify(header)}\n${JSON.stringify({ $: 'done', rows: {}, sha256: '' })}\n`));
    const target = await open(await newDatabase());
    try {
      await expect(restoreBackup(target, file)).rejects.toThrow('newer Tollgate');
      expect(await publicTables(target.db)).toEqual([]);
    } finally {
      await target.close();
    }
  });
});
