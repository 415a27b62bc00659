// Usage pipeline throughput: events per second from the Redis Streams into Postgres, batched
// (default config) against a one-event-per-statement baseline measured in the same run.
// Run by hand against real services: `node --import ./bin/typescript.js bench/usage.ts`
// (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; REDIS_URL, default db 9).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../src/db/database.js';
import { usageSchema, type UsageConfigInput } from '../src/usage/config.js';
import type { UsageEvent } from '../src/usage/event.js';
import { createStreamFlusher } from '../src/usage/stream-flusher.js';
import { usageStreamKey } from '../src/usage/streams.js';

const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/9');
const orgIds = Array.from({ length: 10 }, (_, i) => `org-${i}`);

function event(n: number, run: string): UsageEvent {
  return {
    requestId: `${run}-${n}`, timeMs: Date.now() - 60_000 + (n % 60_000), orgId: orgIds[n % orgIds.length]!,
    teamId: `team-${n % 20}`, userId: `user-${n % 500}`, keyId: `key-${n % 1_000}`, provider: 'openai',
    model: n % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini', promptTokens: 500 + (n % 1_000), cachedTokens: n % 100,
    completionTokens: 200 + (n % 300), reasoningTokens: 0, costMicros: 1_500 + (n % 2_000), status: 200,
    errorCode: null, stream: n % 2 === 0, latencyMs: 800 + (n % 400), ttfbMs: 150, estimated: false,
    sessionId: n % 10 === 0 ? `s-${n}` : null, tags: { app: 'bench' },
  };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(text);
  await client.end();
}

const countRows = async (database: Database) =>
  Number(((await database.db.execute(sql`select count(*) as n from usage_events`)) as unknown as { rows: Array<{ n: unknown }> }).rows[0]!.n);

// Fills the streams, then times one flusher from start until every event is in the ledger.
async function measure(database: Database, total: number, config: UsageConfigInput): Promise<number> {
  const run = randomBytes(4).toString('hex');
  const prefix = `tgbench:${run}:`;
  for (let n = 0; n < total; n += 5_000) {
    const pipeline = redis.pipeline();
    for (let i = n; i < Math.min(total, n + 5_000); i++) pipeline.xadd(usageStreamKey(prefix, orgIds[i % orgIds.length]!), '*', 'e', JSON.stringify(event(i, run)));
    await pipeline.exec();
  }
  const before = await countRows(database);
  const flusher = createStreamFlusher({
    redis, keyPrefix: prefix, database, listOrgIds: async () => orgIds,
    config: usageSchema.parse(config), registry: new Registry(), logger: pino({ level: 'warn' }),
  });
  const started = performance.now();
  await flusher.start();
  while ((await countRows(database)) - before < total) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  await flusher.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  return total / seconds;
}

const name = `tollgate_bench_${randomBytes(4).toString('hex')}`;
await adminQuery(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
try {
  await database.migrate();
  const baseline = await measure(database, 3_000, { batchSize: 1 });
  console.log(`baseline, one event per INSERT:   ${Math.round(baseline).toLocaleString('en')} events/s`);
  for (const batchSize of [500, 2_000]) {
    const rate = await measure(database, 200_000, { batchSize });
    console.log(`batched, batchSize ${String(batchSize).padEnd(5)}:       ${Math.round(rate).toLocaleString('en')} events/s (${(rate / baseline).toFixed(1)}x baseline)`);
  }
  console.log(`ledger now holds ${(await countRows(database)).toLocaleString('en')} rows`);
} finally {
  await database.close();
  await adminQuery(`drop database if exists ${name} with (force)`);
  redis.disconnect();
}
