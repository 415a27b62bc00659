// Access to the real Redis and Postgres the suites run against. Each test file gets its own Redis
// key prefix and its own Postgres database. A missing service fails the run in CI and skips the
// suite (with the reason printed) on a laptop.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const inCi = process.env.CI === 'true';

async function reachable(check: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await check();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export async function redisAvailable(): Promise<boolean> {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1_000, retryStrategy: () => null });
  const problem = await reachable(async () => {
    await client.connect();
    await client.ping();
  });
  client.disconnect();
  return decide('Redis', redisUrl, problem);
}

export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 1_000 });
  const problem = await reachable(async () => {
    await client.connect();
    await client.query('select 1');
  });
  await client.end().catch(() => {});
  return decide('Postgres', postgresUrl, problem);
}

function decide(name: string, url: string, problem: string | undefined): boolean {
  if (!problem) return true;
  if (inCi) throw new Error(`${name} is required in CI but ${url} is unreachable: ${problem}`);
  process.stdout.write(`skipping: ${name} at ${url} is unreachable (${problem})\n`);
  return false;
}

export const uniquePrefix = (label: string): string => `tgtest:${label}:${randomBytes(4).toString('hex')}:`;

// A fresh database in the shared Postgres server, dropped by the returned function.
export async function createTestDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tollgate_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: postgresUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
