// Budgets survive losing their counters: the embedded gateway restarting (its in-process counters
// are gone, PGlite keeps the ledger) and Redis restarting empty (Postgres keeps the ledger). Both
// rebuild from the ledger, so a user cannot start over by waiting for a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { openDatabase } from '../../src/db/database.js';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { unusedPool } from '../unit/tokens-fixtures.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';

const servicesUp = (await redisAvailable()) && (await postgresAvailable());

// Mock usage per answer: 10 prompt + 3 completion tokens, so each request is charged 13.
const limit = 100;
const overrides = { 'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit }] };
const content = 'hi';

let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock?.close();
});

const ask = (gw: TestGateway, key: string, max_tokens: number) =>
  new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', max_tokens, messages: [{ role: 'user', content }] });

// 5 × 13 tokens charged.
async function spend(gw: TestGateway, key: string): Promise<void> {
  for (let i = 0; i < 5; i++) await ask(gw, key, 20);
}

async function expectRemaining(gw: TestGateway, key: string, remaining: number): Promise<void> {
  const counter = createPromptCounter({ inlineMaxChars: 4096, pool: unusedPool });
  const prompt = (await counter.countPrompt('chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }, gw.app.config.catalog.resolve('gpt-4o-mini')!)).promptTokens;
  // A reservation is the prompt plus max_tokens: one token more than remains is refused.
  await expect(ask(gw, key, remaining - prompt + 1)).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  await ask(gw, key, remaining - prompt);
}

describe('budget counters lost', () => {
  it('survive an embedded gateway restart: the counters come back from PGlite', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-restore-'));
    try {
      const first = await startTestGateway({ mock, dataDir, overrides });
      await spend(first, first.key);
      await first.close();
      const second = await startTestGateway({ mock, dataDir, overrides });
      try {
        await expectRemaining(second, second.key, limit - 5 * 13);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!servicesUp)('survive Redis losing every key: the counters come back from Postgres', async () => {
    const database = await createTestDatabase('budget_restore');
    const migrating = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    await migrating.migrate();
    await migrating.close();
    const prefix = uniquePrefix('restore');
    const redis = new Redis(redisUrl);
    // The flusher learns of the new org from the orgs table: reload it often.
    const gw = await startTestGateway({ mock, overrides: { ...overrides, 'usage.orgRefreshMs': 200 }, env: { REDIS_URL: redisUrl, DATABASE_URL: database.url, TOLLGATE_REDIS_KEY_PREFIX: prefix } });
    try {
      await spend(gw, gw.key);
      // Redis loses its data only after the flusher has written the usage to Postgres.
      const ledgerRows = async () => Number(((await gw.app.database.db.execute(sql`select count(*) as n from usage_events`)) as unknown as { rows: Array<{ n: string }> }).rows[0]!.n);
      await expect.poll(ledgerRows, { timeout: 5_000 }).toBe(5);
      const keys = await redis.keys(`${prefix}*`);
      await redis.unlink(...keys);
      await expectRemaining(gw, gw.key, limit - 5 * 13);
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).toContain('tollgate_budget_rebuilds_total{scope="user",metric="tokens",window="day"} 1');
    } finally {
      await gw.close();
      const left = await redis.keys(`${prefix}*`);
      if (left.length > 0) await redis.unlink(...left);
      redis.disconnect();
      await database.drop();
    }
  });
});
