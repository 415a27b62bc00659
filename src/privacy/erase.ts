// `tollgate users erase USER`: removes a person's personal data while every total stays exact.
// In one transaction: their personal alert settings (email, own channel) are deleted; their user
// row is replaced by a tombstone under a fresh random id (no name, no email, inactive); their API
// and admin keys move to fresh ids with unusable hashes, no names or metadata, revoked; every
// user_id and key_id column (the ledger and its rollups included, through their indexes) is
// rewritten to those pseudonyms; the ledger's client-chosen session ids and any tags naming them
// are dropped; and every other row mentioning them (audit before/after, alerts, outbox payloads,
// budgets on them) has the ids swapped for the pseudonyms and the email, handle and key labels
// removed. The pseudonyms are random and recorded nowhere with the old ids, so nothing links
// them back; the rows stay, so org, team, model and day totals are unchanged.
import { createHash, randomBytes } from 'node:crypto';
import { eq, inArray, sql } from 'drizzle-orm';
import { alertPreferences, personalAlertNotices } from '../../drizzle/schema/alert-preferences.js';
import { adminKeys, alertChannels, apiKeys, quotaRequests, users } from '../../drizzle/schema/index.js';
import { rowsOf } from '../auth/principal-loader.js';
import type { InvalidationBus } from '../auth/invalidation.js';
import { newId } from '../auth/keys.js';
import type { ChangeContext } from '../control/actor.js';
import { recordAudit } from '../control/audit.js';
import type { Db } from '../db/database.js';
import { aboutPerson, catalogTables, identifiers, isLedgerTable, loadPerson, mentionsAny, type Person, type TableInfo } from './person.js';
import { createScrubber, erasedMark, type Scrubber } from './scrub.js';

export interface Erasure {
  // The tombstone user's id, under which the person's usage is still counted.
  pseudonym: string;
  keysRevoked: number;
  // Rows rewritten per table (the tombstone and deleted rows not included).
  rowsRewritten: Record<string, number>;
}

const affected = (result: unknown): number => Number((result as { rowCount?: number; affectedRows?: number }).rowCount ?? (result as { affectedRows?: number }).affectedRows ?? 0);

// A hash no key can have: SHA-256 of random bytes nobody keeps.
const unusableHash = () => createHash('sha256').update(randomBytes(32)).digest('hex');

export async function eraseUser(db: Db, bus: InvalidationBus, change: ChangeContext, userId: string): Promise<Erasure> {
  const { erasure, person } = await db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const person = await loadPerson(t, userId);
    const { user } = person;
    const pseudonym = newId('usr');
    const ids = new Map<string, string>([[user.id, pseudonym], ...person.keyIds.map((k) => [k, newId('key')] as const), ...person.adminKeyIds.map((k) => [k, newId('adk')] as const)]);
    const keyRows = person.keyIds.length > 0 ? await t.select({ name: apiKeys.name, metadata: apiKeys.metadata }).from(apiKeys).where(inArray(apiKeys.id, person.keyIds)) : [];
    const labels = keyRows.flatMap((k) => [k.name, ...Object.values(k.metadata)]).filter((v): v is string => typeof v === 'string' && v.length > 0);
    const scrubber = createScrubber({ ids, email: user.email, handle: user.name, handleReplacement: `erased-${pseudonym.slice(4)}`, labels });
    const rowsRewritten: Record<string, number> = {};
    const count = (table: string, n: number) => {
      if (n > 0) rowsRewritten[table] = (rowsRewritten[table] ?? 0) + n;
    };

    // Personal alert settings exist only for the person: their email and their own channel go.
    const channels = await t.select({ id: alertPreferences.channelId }).from(alertPreferences).where(eq(alertPreferences.userId, user.id));
    await t.delete(personalAlertNotices).where(eq(personalAlertNotices.userId, user.id));
    await t.delete(alertPreferences).where(eq(alertPreferences.userId, user.id));
    if (channels.length > 0) await t.delete(alertChannels).where(inArray(alertChannels.id, channels.map((c) => c.id)));

    await t.insert(users).values({ id: pseudonym, orgId: user.orgId, teamId: user.teamId, name: scrubber.handleReplacement, email: null, role: user.role, active: false, keyPolicy: null, createdAt: user.createdAt, updatedAt: new Date() });
    const now = new Date();
    for (const id of person.keyIds) {
      await t.update(apiKeys).set({ id: ids.get(id)!, userId: pseudonym, name: null, metadata: {}, prefix: 'erased', hash: unusableHash(), revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${now})` }).where(eq(apiKeys.id, id));
    }
    for (const id of person.adminKeyIds) {
      await t.update(adminKeys).set({ id: ids.get(id)!, userId: pseudonym, name: 'erased', prefix: 'erased', hash: unusableHash(), revokedAt: sql`coalesce(${adminKeys.revokedAt}, ${now})` }).where(eq(adminKeys.id, id));
    }

    const tables = await catalogTables(t);
    for (const table of tables) for (const [table_, n] of await repointIds(t, table, person, ids)) count(table_, n);
    await t.delete(users).where(eq(users.id, user.id));
    // What they wrote in their own words may name anyone or anything: it goes whole.
    count('quota_requests', affected(await t.update(quotaRequests).set({ justification: erasedMark }).where(eq(quotaRequests.userId, pseudonym))));
    for (const table of tables.filter((x) => isLedgerTable(x.name))) count(table.name, await scrubLedger(t, table, pseudonym, [...identifiers(person), user.name, ...labels]));
    // Every row to rewrite is found before any is: a rewritten alert would no longer lead to its events.
    const found = [];
    for (const table of tables.filter((x) => !isLedgerTable(x.name))) found.push({ table, rows: await rowsAbout(t, table, person) });
    for (const { table, rows } of found) count(table.name, await scrubRows(t, table, rows, scrubber));

    const erasure = { pseudonym, keysRevoked: person.keyIds.length, rowsRewritten };
    // The entry names the pseudonym only: the audit log must not undo the erasure.
    await recordAudit(t, change, { action: 'user.erase', resourceType: 'user', resourceId: pseudonym, orgId: user.orgId, before: null, after: erasure });
    return { erasure, person };
  });
  // Every replica drops the person's keys (by their old ids) and reloads rules on the pseudonyms.
  await bus.publish({ kind: 'user', id: person.user.id });
  for (const id of person.keyIds) await bus.publish({ kind: 'key', id });
  await bus.publish({ kind: 'budgets' });
  return erasure;
}

// user_id and key_id columns, wherever they are: the ledger and rollups through their indexes.
async function repointIds(db: Db, table: TableInfo, person: Person, ids: ReadonlyMap<string, string>): Promise<Array<[string, number]>> {
  const name = sql.identifier(table.name);
  const out: Array<[string, number]> = [];
  if (table.columns.some((c) => c.name === 'user_id')) {
    out.push([table.name, affected(await db.execute(sql`update ${name} set user_id = ${ids.get(person.user.id)!} where user_id = ${person.user.id}`))]);
  }
  if (table.columns.some((c) => c.name === 'key_id') && person.keyIds.length > 0) {
    const cases = sql.join(person.keyIds.map((k) => sql`when ${k} then ${ids.get(k)!}`), sql` `);
    const keys = sql.join(person.keyIds.map((k) => sql`${k}`), sql`, `);
    out.push([table.name, affected(await db.execute(sql`update ${name} set key_id = case key_id ${cases} end where key_id in (${keys})`))]);
  }
  return out;
}

// Ledger rows keep every figure; only what a client attached that could name the person goes.
async function scrubLedger(db: Db, table: TableInfo, pseudonym: string, mentions: string[]): Promise<number> {
  const name = sql.identifier(table.name);
  let n = 0;
  if (table.columns.some((c) => c.name === 'session_id')) n += affected(await db.execute(sql`update ${name} set session_id = null where user_id = ${pseudonym} and session_id is not null`));
  if (table.columns.some((c) => c.name === 'tags')) n += affected(await db.execute(sql`update ${name} t set tags = '{}'::jsonb where user_id = ${pseudonym} and ${mentionsAny(mentions)}`));
  return n;
}

type FoundRow = { ctid: string; row: Record<string, unknown> };

const rowsAbout = async (db: Db, table: TableInfo, person: Person): Promise<FoundRow[]> =>
  rowsOf<FoundRow>(await db.execute(sql`select t.ctid::text as ctid, row_to_json(t) as row from ${sql.identifier(table.name)} t where ${aboutPerson(table, person)}`));

// Any other row about the person, rewritten column by column.
async function scrubRows(db: Db, table: TableInfo, rows: readonly FoundRow[], scrubber: Scrubber): Promise<number> {
  const name = sql.identifier(table.name);
  const columns = table.columns.filter((c) => c.kind !== 'other');
  if (columns.length === 0) return 0;
  for (const { ctid, row } of rows) {
    const sets = columns.flatMap((c) => {
      const value = row[c.name];
      if (value === null || value === undefined) return [];
      const scrubbed = scrubber.value(value);
      if (JSON.stringify(scrubbed) === JSON.stringify(value)) return [];
      return [c.kind === 'json' ? sql`${sql.identifier(c.name)} = ${JSON.stringify(scrubbed)}::jsonb` : sql`${sql.identifier(c.name)} = ${scrubbed as string}`];
    });
    if (sets.length > 0) await db.execute(sql`update ${name} set ${sql.join(sets, sql`, `)} where ctid = ${ctid}::tid`);
  }
  return rows.length;
}
