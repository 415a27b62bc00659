// What identifies one person in the database: their user id, the ids of their API keys and admin
// keys, their email and handle. Rows "about" them are found by these, table by table from the
// database's own catalog, so a table a later migration adds is searched without being listed: in
// the usage ledger by the indexed user_id (it is too large to scan), elsewhere by any column of
// the row mentioning one of the identifiers (audit before/after, alert summaries, outbox payloads).
import { eq, sql, type SQL } from 'drizzle-orm';
import { adminKeys, apiKeys } from '../../drizzle/schema/index.js';
import { rowsOf } from '../auth/principal-loader.js';
import { getUser, type User } from '../control/users.js';
import type { Db } from '../db/database.js';
import { publicColumns } from '../backup/tables.js';

export interface Person {
  user: User;
  keyIds: string[];
  adminKeyIds: string[];
}

export async function loadPerson(db: Db, userId: string): Promise<Person> {
  const user = await getUser(db, userId);
  const keys = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.userId, user.id));
  const admins = await db.select({ id: adminKeys.id }).from(adminKeys).where(eq(adminKeys.userId, user.id));
  return { user, keyIds: keys.map((k) => k.id), adminKeyIds: admins.map((k) => k.id) };
}

// Strings that name the person wherever they appear (ids are random, so a match is never chance).
export const identifiers = (p: Person): string[] => [p.user.id, ...p.keyIds, ...p.adminKeyIds, ...(p.user.email ? [p.user.email] : [])];

// The ledger's tables: found by the person's user_id only, through its index.
export const isLedgerTable = (name: string): boolean => name === 'usage_events' || name.startsWith('usage_rollups_');

// Never exported: key material and channel secrets.
export const secretColumns: ReadonlySet<string> = new Set(['hash', 'key_hash', 'secrets']);

export interface ColumnInfo {
  name: string;
  kind: 'text' | 'json' | 'other';
}

export interface TableInfo {
  name: string;
  columns: ColumnInfo[];
  // Single-column foreign keys: a row whose parent is about the person is too (an alert's events).
  parents: Array<{ column: string; table: string; parentColumn: string }>;
}

// Every table of the public schema (partitioned tables once, not per partition), its columns and parents.
export async function catalogTables(db: Db): Promise<TableInfo[]> {
  const rows = await publicColumns(db);
  const parents = rowsOf<{ child: string; column: string; parent: string; parent_column: string }>(
    await db.execute(sql`
      select c.relname as child, a.attname as column, p.relname as parent, pa.attname as parent_column
      from pg_constraint k
      join pg_class c on c.oid = k.conrelid
      join pg_class p on p.oid = k.confrelid
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = k.conrelid and a.attnum = k.conkey[1]
      join pg_attribute pa on pa.attrelid = k.confrelid and pa.attnum = k.confkey[1]
      where k.contype = 'f' and n.nspname = 'public' and cardinality(k.conkey) = 1`),
  );
  const tables = new Map<string, TableInfo>();
  for (const r of rows) {
    const table = tables.get(r.table_name) ?? { name: r.table_name, columns: [], parents: parents.filter((f) => f.child === r.table_name).map((f) => ({ column: f.column, table: f.parent, parentColumn: f.parent_column })) };
    const kind = r.data_type === 'text' || r.data_type === 'character varying' ? 'text' : r.data_type === 'jsonb' || r.data_type === 'json' ? 'json' : 'other';
    table.columns.push({ name: r.column_name, kind });
    tables.set(r.table_name, table);
  }
  return [...tables.values()];
}

const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

// The rows of `table` about the person, as a condition on the row alias `t`.
export function aboutPerson(table: TableInfo, person: Person): SQL {
  // A ledger table without user_id (a team rollup) holds nothing per person.
  if (isLedgerTable(table.name)) return table.columns.some((c) => c.name === 'user_id') ? sql`t.user_id = ${person.user.id}` : sql`false`;
  const ids = identifiers(person);
  const viaParents = table.parents
    .filter((f) => !isLedgerTable(f.table))
    .map((f) => sql`t.${sql.identifier(f.column)} in (select p.${sql.identifier(f.parentColumn)} from ${sql.identifier(f.table)} p where ${mentionsAny(ids, 'p')})`);
  return sql.join([mentionsAny(ids), ...viaParents], sql` or `);
}

// Some column of the row (alias `t`, or `alias`) contains one of the strings.
export function mentionsAny(strings: readonly string[], alias = 't'): SQL {
  return sql`row_to_json(${sql.identifier(alias)})::text ilike any (array[${sql.join(strings.map((s) => sql`${likePattern(s)}`), sql`, `)}]::text[])`;
}
