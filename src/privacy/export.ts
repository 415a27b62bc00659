// `tollgate users export USER`: everything the database holds about a person, table by table (so
// the answer can be checked against the schema): their profile, keys' metadata (never hashes),
// budgets on them, usage, alerts, personal alert settings, quota requests and the audit entries
// naming them. Rows are as Postgres prints them, less the secret columns.
import { sql } from 'drizzle-orm';
import { rowsOf } from '../auth/principal-loader.js';
import type { Db } from '../db/database.js';
import { aboutPerson, catalogTables, loadPerson, secretColumns } from './person.js';

export const exportFormat = 'tollgate-user-export';

export interface UserExport {
  format: typeof exportFormat;
  version: 1;
  exportedAt: string;
  userId: string;
  // Table name to its rows about the person; tables with none are left out.
  tables: Record<string, Array<Record<string, unknown>>>;
}

const withoutSecrets = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).filter(([k]) => !secretColumns.has(k)));

export async function exportUser(db: Db, userId: string): Promise<UserExport> {
  return db.transaction(
    async (tx) => {
      const snapshot = tx as unknown as Db;
      const person = await loadPerson(snapshot, userId);
      const tables: UserExport['tables'] = {};
      for (const table of await catalogTables(snapshot)) {
        const rows = rowsOf<{ row: Record<string, unknown> }>(await snapshot.execute(sql`select row_to_json(t) as row from ${sql.identifier(table.name)} t where ${aboutPerson(table, person)}`));
        if (rows.length > 0) tables[table.name] = rows.map((r) => withoutSecrets(r.row));
      }
      return { format: exportFormat, version: 1, exportedAt: new Date().toISOString(), userId: person.user.id, tables };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
