// Backup and restore of the control plane and the ledger: a gateway seeded through the admin API
// and real requests is backed up, restored into an empty database (a new PGlite directory, a new
// Postgres database) and a fresh gateway started on it: the old key still works, every backed-up
// row is identical, and the budget counters come back from the ledger (Redis starts empty).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
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
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
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
  await expect.poll(() => ask(gw, gw.key, limit + 1).then(() => 200, (err: { status?: number }) => err.status), { timeout: 5_000 }).toBe(429);
  const other = await gw.newKey({ name: 'second' });
  for (let i = 0; i < 3; i++) await ask(gw, gw.key, 20);
  for (let i = 0; i < 2; i++) await ask(gw, other.key, 20);
  await expect.poll(() => answered(gw.app.database), { timeout: 10_000 }).toBe(5);
  return { key: gw.key, otherKey: other.key, requests: 5 };
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
  }, 240_000);

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
