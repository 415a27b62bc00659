// Shared fixtures of the usage suites: real databases (PGlite in a temp dir, or a throwaway
// database in the shared Postgres), real Redis on its own db number, and event factories.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.js';
import type { UsageEvent } from '../../src/usage/event.js';

export const postgresAdminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

// A missing service fails the run in CI and skips the suite (with the reason printed) elsewhere.
export async function serviceAvailable(name: string, probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (error) {
    if (process.env.CI === 'true') throw new Error(`${name} is required in CI: ${String(error)}`);
    console.warn(`skipping ${name} tests: ${String(error)}`);
    return false;
  }
}

export const postgresAvailable = () =>
  serviceAvailable('Postgres', async () => {
    const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 2_000 });
    await client.connect();
    await client.end();
  });

export const redisAvailable = () =>
  serviceAvailable('Redis', async () => {
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
  });

export interface TestDatabase {
  database: Database;
  url?: string;
  drop(): Promise<void>;
}

export async function createPgliteDatabase(): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-usage-'));
  const database = await openDatabase({ dataDir });
  await database.migrate();
  return {
    database,
    async drop() {
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// A fresh database `tollgate_<file>_<random>` on the given server, migrated.
export async function createPostgresDatabase(file: string, adminUrl = postgresAdminUrl, poolSize?: number): Promise<TestDatabase> {
  const name = `tollgate_${file}_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '', ...(poolSize ? { poolSize } : {}) });
  await database.migrate();
  return {
    database,
    url: url.toString(),
    async drop() {
      await database.close();
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

// Each usage suite uses its own Redis db (and each test its own key prefix), so suites can share one server.
export const createTestRedis = (db: number): Redis => new Redis(redisUrl, { db });

export function makeEvent(n: number, overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    requestId: `req-${n}`,
    timeMs: Date.UTC(2025, 0, 1, 10, 0, 0) + n * 1_000,
    orgId: 'org-a',
    teamId: n % 3 === 0 ? null : 'team-1',
    userId: `user-${n % 4}`,
    keyId: `key-${n % 4}`,
    provider: 'openai',
    model: n % 2 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
    promptTokens: 100 + n,
    cachedTokens: n % 10,
    completionTokens: 50 + (n % 7),
    reasoningTokens: n % 5,
    costMicros: 1_000 + n * 3,
    status: n % 11 === 0 ? 500 : 200,
    errorCode: n % 11 === 0 ? 'upstream_error' : null,
    stream: n % 2 === 1,
    latencyMs: 200 + (n % 50),
    ttfbMs: n % 2 === 1 ? 80 : null,
    estimated: n % 13 === 0,
    unmetered: false,
    maxTokensUnstated: false,
    sessionId: n % 5 === 0 ? `sess-${n}` : null,
    tags: n % 6 === 0 ? { feature: 'chat' } : {},
    ...overrides,
  };
}

export interface Totals {
  rows: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
}

export function expectedTotals(events: readonly UsageEvent[]): Totals {
  return {
    rows: events.length,
    promptTokens: events.reduce((s, e) => s + e.promptTokens, 0),
    completionTokens: events.reduce((s, e) => s + e.completionTokens, 0),
    costMicros: events.reduce((s, e) => s + e.costMicros, 0),
  };
}

export async function ledgerTotals(database: Database): Promise<{ events: Totals; rollups: Totals }> {
  const rows = async (query: ReturnType<typeof sql>) =>
    ((await database.db.execute(query)) as unknown as { rows: Array<Record<string, unknown>> }).rows[0]!;
  const events = await rows(sql`select count(*) as rows, coalesce(sum(prompt_tokens), 0) as p,
    coalesce(sum(completion_tokens), 0) as c, coalesce(sum(cost_micros), 0) as m from usage_events`);
  const rollups = await rows(sql`select coalesce(sum(requests), 0) as rows, coalesce(sum(prompt_tokens), 0) as p,
    coalesce(sum(completion_tokens), 0) as c, coalesce(sum(cost_micros), 0) as m from usage_rollups_hourly`);
  const totals = (r: Record<string, unknown>): Totals => ({
    rows: Number(r.rows),
    promptTokens: Number(r.p),
    completionTokens: Number(r.c),
    costMicros: Number(r.m),
  });
  return { events: totals(events), rollups: totals(rollups) };
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
}
