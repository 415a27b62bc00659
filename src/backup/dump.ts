// `tollgate backup`: streams every backed-up table into the backup file from one repeatable-read
// snapshot, so the control plane and the ledger are dumped as of the same instant while the
// gateway keeps serving. Rows are fetched through a cursor a batch at a time and written with
// backpressure: memory stays bounded whatever the ledger's size.
import { once } from 'node:events';
import { open, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../auth/principal-loader.js';
import type { Database, Db } from '../db/database.js';
import { backupFormat, type BackupSummary, backupVersion, lineDigest, markerLine } from './format.js';
import { appliedLevel } from './migration-level.js';
import { backedUpTables, publicTables } from './tables.js';

const fetchRows = 500;

export async function writeBackup(database: Database, outPath: string): Promise<BackupSummary> {
  // Refuses to overwrite: an existing backup is never clobbered by a failed new one.
  const file = (await open(outPath, 'wx', 0o600)).createWriteStream();
  const gzip = createGzip();
  gzip.pipe(file);
  const whole = lineDigest();
  const write = async (line: string) => {
    whole.add(line);
    if (!gzip.write(`${line}\n`)) await once(gzip, 'drain');
  };
  const summary = await dumpTables(database, write).catch(async (err: unknown) => {
    // A half-written backup must not be mistaken for one.
    gzip.destroy();
    file.destroy();
    await rm(outPath, { force: true });
    throw err;
  });
  const sha256 = whole.hex();
  gzip.end(`${markerLine({ $: 'done', rows: summary.rows, sha256 })}\n`);
  await finished(file);
  return { ...summary, sha256 };
}

function dumpTables(database: Database, write: (line: string) => Promise<void>): Promise<Omit<BackupSummary, 'sha256'>> {
  return database.db.transaction(
    async (tx) => {
      const db = tx as unknown as Db;
      const migrationLevel = await appliedLevel(db);
      const tables = backedUpTables(await publicTables(db));
      await write(markerLine({ $: 'header', format: backupFormat, version: backupVersion, createdAt: new Date().toISOString(), source: database.kind, migrationLevel, tables: tables.map((t) => t.name) }));
      const rows: Record<string, number> = {};
      for (const table of tables) {
        await write(markerLine({ $: 'table', name: table.name, columns: table.columns, partitions: table.partitions }));
        const digest = lineDigest();
        let count = 0;
        await db.execute(sql`declare backup_rows no scroll cursor for select row_to_json(t)::text as line from ${sql.identifier(table.name)} t`);
        for (;;) {
          const batch = rowsOf<{ line: string }>(await db.execute(sql.raw(`fetch ${fetchRows} from backup_rows`)));
          for (const { line } of batch) {
            digest.add(line);
            await write(line);
          }
          count += batch.length;
          if (batch.length < fetchRows) break;
        }
        await db.execute(sql`close backup_rows`);
        rows[table.name] = count;
        await write(markerLine({ $: 'end', name: table.name, rows: count, sha256: digest.hex() }));
      }
      return { migrationLevel, rows };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
