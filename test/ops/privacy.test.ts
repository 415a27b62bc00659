// A person's data on request, on a gateway seeded through the admin API and real requests: the
// export holds every row that references the user or their keys in any table of the drizzle
// schema (the list is derived from the schema files, so a new table cannot be missed), and after
// erasure no text or json column of any table names them while every org total is unchanged.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { is, sql } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { rowsOf } from '../../src/auth/principal-loader.js';
import { openDatabase } from '../../src/db/database.js';
import { catalogTables, secretColumns } from '../../src/privacy/person.js';
import type { UserExport } from '../../src/privacy/export.js';
import type { Erasure } from '../../src/privacy/erase.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';

const servicesUp = (await redisAvailable()) && (await postgresAvailable());

const handle = 'zelda-quimby';
const email = 'zelda.quimby@example.test';

// Every table of the drizzle schema and its columns that hold a user id or an API key id: a
// foreign key to users or api_keys, or a user_id / key_id column (the ledger has no foreign keys).
async function referenceColumns(): Promise<Array<{ table: string; column: string; holds: 'user' | 'key' }>> {
  const dir = fileURLToPath(new URL('../../drizzle/schema/', import.meta.url));
  const found = new Map<string, { table: string; column: string; holds: 'user' | 'key' }>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    for (const value of Object.values(await import(join(dir, file)))) {
      if (!is(value, PgTable)) continue;
      const config = getTableConfig(value);
      for (const fk of config.foreignKeys) {
        const ref = fk.reference();
        const target = getTableConfig(ref.foreignTable).name;
        if (target !== 'users' && target !== 'api_keys') continue;
        for (const c of ref.columns) found.set(`${config.name}.${c.name}`, { table: config.name, column: c.name, holds: target === 'users' ? 'user' : 'key' });
      }
      for (const c of config.columns) {
        if (c.name === 'user_id') found.set(`${config.name}.user_id`, { table: config.name, column: 'user_id', holds: 'user' });
        if (c.name === 'key_id') found.set(`${config.name}.key_id`, { table: config.name, column: 'key_id', holds: 'key' });
      }
    }
  }
  return [...found.values()];
}

let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock?.close();
});

const chat = (gw: TestGateway, key: string, headers: Record<string, string> = {}) =>
  new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0, defaultHeaders: headers }).chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });

describe.skipIf(!servicesUp)('a person\'s data on request', () => {
  it('exports every row about a user, then erases them leaving no name, email or id anywhere and every org total exact', async () => {
    const database = await createTestDatabase('privacy');
    const migrating = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    await migrating.migrate();
    await migrating.close();
    const prefix = uniquePrefix('privacy');
    const redis = new Redis(redisUrl);
    const gw = await startTestGateway({ mock, overrides: { 'usage.orgRefreshMs': 200 }, env: { REDIS_URL: redisUrl, DATABASE_URL: database.url, TOLLGATE_REDIS_KEY_PREFIX: prefix } });
    const db = gw.app.database.db;
    const query = async <T>(q: ReturnType<typeof sql>) => rowsOf<T>(await db.execute(q));
    try {
      // Zelda: a profile with an email, a labelled key, a budget, personal alerts, a quota request,
      // an admin key acting for her, and usage with a session and a tag naming her.
      const zelda = await gw.newKey({ user: handle, team: 'research', name: `${handle} laptop` });
      await gw.admin.call('PATCH', `/users/${zelda.userId}`, { body: { email } });
      await gw.admin.call('PATCH', `/keys/${zelda.id}`, { body: { metadata: { owner: email } } });
      const budget = await gw.admin.call('PUT', '/budgets', { body: { scope: 'user', scopeId: zelda.userId, metric: 'tokens', window: 'month', limit: 1_000_000 } });
      await gw.admin.call('POST', '/quota-requests', { body: { userId: zelda.userId, budgetId: budget.id, amount: 500, justification: `${handle} needs more for the demo` } });
      await gw.admin.call('POST', '/admin-keys', { body: { name: `${handle} console`, role: 'viewer', userId: zelda.userId } });
      const prefs = await fetch(`${gw.url}/v1/alerts/preferences`, { method: 'PUT', headers: { authorization: `Bearer ${zelda.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ email, thresholds: [50] }) });
      expect(prefs.status).toBe(200);
      for (let i = 0; i < 3; i++) await chat(gw, zelda.key, { 'x-session-id': `${handle}-session`, 'x-tollgate-tags': `owner=${handle},feature=search` });
      // Someone else in the same org, whose rows must come through untouched.
      for (let i = 0; i < 2; i++) await chat(gw, gw.key);
      const ledger = async () => Number((await query<{ n: string }>(sql`select count(*) as n from usage_events`))[0]!.n);
      await expect.poll(ledger, { timeout: 15_000 }).toBe(5);

      // Export: every row referencing her or her key, in every table of the schema, is in it.
      const exported = (await gw.admin.call('GET', `/users/${zelda.userId}/export`)) as UserExport;
      const references = await referenceColumns();
      expect(references.map((r) => r.table)).toEqual(expect.arrayContaining(['api_keys', 'usage_events', 'usage_rollups_hourly', 'usage_rollups_daily', 'quota_requests', 'alert_preferences', 'admin_keys']));
      let checked = 0;
      for (const ref of references) {
        const ids = ref.holds === 'user' ? [zelda.userId] : [zelda.id];
        const rows = await query<{ row: Record<string, unknown> }>(sql`select row_to_json(t) as row from ${sql.identifier(ref.table)} t where ${sql.identifier(ref.column)} = any (${`{${ids.join(',')}}`}::text[])`);
        for (const { row } of rows) {
          // last_used_at is stamped a few seconds after a request: it may move between the two reads.
          const visible = Object.fromEntries(Object.entries(row).filter(([k]) => !secretColumns.has(k) && k !== 'last_used_at'));
          expect(exported.tables[ref.table], `${ref.table}.${ref.column}`).toContainEqual(expect.objectContaining(visible));
          checked++;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(10);
      expect(exported.tables.audit_log?.length).toBeGreaterThan(0);
      const hashes = await query<{ hash: string }>(sql`select hash from api_keys union all select hash from admin_keys`);
      const exportText = JSON.stringify(exported);
      for (const { hash } of hashes) expect(exportText).not.toContain(hash);
      expect(exportText).not.toContain(gw.created.userId);

      // Erase: totals by org (ledger and rollups) before, and the other user's rows.
      const totals = async () => ({
        events: await query(sql`select org_id, team_id, count(*)::int as n, sum(prompt_tokens + completion_tokens)::bigint::text as tokens, sum(cost_micros)::bigint::text as cost from usage_events group by 1, 2 order by 1, 2`),
        hourly: await query(sql`select org_id, sum(requests)::bigint::text as requests, sum(cost_micros)::bigint::text as cost from usage_rollups_hourly group by 1 order by 1`),
        daily: await query(sql`select org_id, sum(requests)::bigint::text as requests, sum(cost_micros)::bigint::text as cost from usage_rollups_daily group by 1 order by 1`),
      });
      const othersRows = () => query(sql`select row_to_json(t)::text as row from usage_events t where user_id = ${gw.created.userId} order by 1`);
      const before = { totals: await totals(), others: await othersRows() };
      const erased = (await gw.admin.call('POST', `/users/${zelda.userId}/erase`)) as Erasure;
      expect(erased.keysRevoked).toBe(1);
      expect({ totals: await totals(), others: await othersRows() }).toEqual(before);
      expect(Number((await query<{ n: string }>(sql`select count(*) as n from usage_events where user_id = ${erased.pseudonym}`))[0]!.n)).toBe(3);

      // Nothing names her in any text or json column of any table.
      const needles = [handle, email, zelda.userId, zelda.id];
      const leftovers: string[] = [];
      for (const table of await catalogTables(db)) {
        for (const column of table.columns.filter((c) => c.kind !== 'other')) {
          const hits = await query<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table.name)} where ${sql.identifier(column.name)}::text ilike any (${`{${needles.map((n) => `%${n}%`).join(',')}}`}::text[])`);
          if (hits[0]!.n > 0) leftovers.push(`${table.name}.${column.name}`);
        }
      }
      expect(leftovers).toEqual([]);

      // Her key no longer works anywhere; the other user's does; the erasure is audited under the pseudonym.
      await gw.app.principals.apply({ kind: 'key', id: zelda.id });
      await expect(chat(gw, zelda.key)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      await chat(gw, gw.key);
      const audit = await gw.admin.call('GET', '/audit', { query: { action: 'user.erase' } });
      expect(audit.data).toEqual([expect.objectContaining({ resourceId: erased.pseudonym, actorRole: 'admin' })]);
    } finally {
      await gw.close();
      const left = await redis.keys(`${prefix}*`);
      if (left.length > 0) await redis.unlink(...left);
      redis.disconnect();
      await database.drop();
    }
  }, 300_000);
});
