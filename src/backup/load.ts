// `tollgate restore`: loads a backup file into an empty database. The database is first migrated
// to the backup's own level (so rows go into the schema they came from), every table is loaded in
// one transaction that commits only once each table's row count and checksum and the file's
// trailer match, and then the remaining migrations run. Rows are inserted a batch at a time
// straight from their JSON text (json_populate_recordset), so memory stays bounded.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../auth/principal-loader.js';
import type { Database, Db } from '../db/database.js';
import { type BackupHeader, type BackupSummary, backupFormat, backupVersion, headerSchema, isMarkerLine, lineDigest, type Marker, markerSchema } from './format.js';
import { appliedLevel, isShippedLevel, migrateUpTo, shippedLevel } from './migration-level.js';
import { type Partition, publicTables, type TableShape } from './tables.js';

// A restore that would lose or mix data, or cannot be read: nothing was written.
export class RestoreRefused extends Error {
  override name = 'RestoreRefused';
}

const batchRows = 1_000;
const batchChars = 4 * 1024 * 1024;

export interface RestoreOptions {
  // Empty the target's tables first instead of refusing a database that holds rows.
  force?: boolean;
}

function backupLines(path: string): AsyncIterator<string> {
  const input = createReadStream(path).pipe(createGunzip());
  return createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
}

const parseJson = (line: string, what: string): unknown => {
  try {
    return JSON.parse(line);
  } catch {
    throw new RestoreRefused(`the backup is damaged: ${what} is not JSON`);
  }
};

export async function readHeader(path: string): Promise<BackupHeader> {
  const lines = backupLines(path);
  const first = await lines.next();
  await lines.return?.();
  const header = headerSchema.safeParse(first.done ? undefined : parseJson(first.value, 'the first line'));
  if (!header.success) throw new RestoreRefused(`${path} is not a Tollgate backup (${backupFormat} version ${backupVersion})`);
  return header.data;
}

function assertRestorable(header: BackupHeader): void {
  if (header.version > backupVersion) throw new RestoreRefused(`the backup is format version ${header.version}; this Tollgate reads version ${backupVersion}: restore with the release that wrote it or a newer one`);
  if (header.migrationLevel > shippedLevel() || (header.migrationLevel > 0 && !isShippedLevel(header.migrationLevel))) {
    throw new RestoreRefused('the backup comes from a newer Tollgate (its schema has migrations this release does not ship): upgrade Tollgate, then restore');
  }
}

async function tablesWithRows(db: Db, tables: readonly TableShape[]): Promise<string[]> {
  const held: string[] = [];
  for (const t of tables) {
    const rows = rowsOf<{ held: boolean }>(await db.execute(sql`select exists (select 1 from ${sql.identifier(t.name)}) as held`));
    if (rows[0]?.held) held.push(t.name);
  }
  return held;
}

export async function restoreBackup(database: Database, path: string, options: RestoreOptions = {}): Promise<BackupSummary> {
  const header = await readHeader(path);
  assertRestorable(header);
  if ((await appliedLevel(database.db)) < header.migrationLevel) await migrateUpTo(database, header.migrationLevel);
  const summary = await database.db.transaction(async (tx) => {
    const db = tx as unknown as Db;
    const tables = await publicTables(db);
    const held = await tablesWithRows(db, tables);
    if (held.length > 0 && !options.force) throw new RestoreRefused(`the target database is not empty (${held.join(', ')} hold rows): restore into an empty database, or pass --force to replace its contents`);
    if (held.length > 0) await db.execute(sql.raw(`truncate ${tables.map((t) => `"${t.name}"`).join(', ')} restart identity cascade`));
    const rows = await loadTables(db, path, new Map(tables.map((t) => [t.name, t])));
    for (const t of tables) for (const column of t.serialColumns) await resetSequence(db, t.name, column);
    return rows;
  });
  // Later migrations now run over the restored rows, as an upgrade would have.
  await database.migrate();
  return { migrationLevel: header.migrationLevel, ...summary };
}

// The bound comes from the backup file, which an operator could have edited: only the shapes
// pg_get_expr prints for range and list partitions are accepted into the DDL.
const partitionBound = /^FOR VALUES (FROM \([^;]*\) TO \([^;]*\)|IN \([^;]*\))$|^DEFAULT$/;

async function createPartition(db: Db, parent: string, partition: Partition): Promise<void> {
  if (!partitionBound.test(partition.bound)) throw new RestoreRefused(`the backup is damaged: partition ${partition.name} has an unexpected bound`);
  await db.execute(sql`create table if not exists ${sql.identifier(partition.name)} partition of ${sql.identifier(parent)} ${sql.raw(partition.bound)}`);
}

async function resetSequence(db: Db, table: string, column: string): Promise<void> {
  const t = sql.identifier(table);
  const c = sql.identifier(column);
  await db.execute(sql`select setval(pg_get_serial_sequence(${`"${table}"`}, ${column}), coalesce((select max(${c}) from ${t}), 0) + 1, false)`);
}

async function loadTables(db: Db, path: string, target: ReadonlyMap<string, TableShape>): Promise<{ rows: Record<string, number>; sha256: string }> {
  const lines = backupLines(path);
  const whole = lineDigest();
  const rows: Record<string, number> = {};
  let table: { name: string; columns: string[]; count: number; digest: ReturnType<typeof lineDigest>; batch: string[]; chars: number } | undefined;
  const flush = async () => {
    if (!table || table.batch.length === 0) return;
    const columns = sql.join(table.columns.map((c) => sql.identifier(c)), sql`, `);
    const name = sql.identifier(table.name);
    await db.execute(sql`insert into ${name} (${columns}) select ${columns} from json_populate_recordset(null::${name}, ${`[${table.batch.join(',')}]`}::json)`);
    table.batch = [];
    table.chars = 0;
  };
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    const line = next.value;
    if (!isMarkerLine(line)) {
      if (!table) throw new RestoreRefused('the backup is damaged: a row outside any table');
      table.digest.add(line);
      table.batch.push(line);
      table.chars += line.length;
      table.count++;
      whole.add(line);
      if (table.batch.length >= batchRows || table.chars >= batchChars) await flush();
      continue;
    }
    const parsed = parseJson(line, 'a marker');
    if ((parsed as { $?: string }).$ === 'header') {
      whole.add(line);
      continue;
    }
    const marker = markerSchema.safeParse(parsed);
    if (!marker.success) throw new RestoreRefused('the backup is damaged: an unknown marker line');
    if (marker.data.$ === 'done') return finish(marker.data, rows, whole.hex());
    whole.add(line);
    if (marker.data.$ === 'table') {
      const shape = target.get(marker.data.name);
      const missing = marker.data.columns.filter((c) => !shape?.columns.includes(c));
      if (!shape || missing.length > 0) throw new RestoreRefused(`the target database has no ${shape ? `column ${missing.join(', ')} in ` : ''}table ${marker.data.name}: its schema does not match the backup's`);
      for (const p of marker.data.partitions) await createPartition(db, marker.data.name, p);
      table = { name: marker.data.name, columns: marker.data.columns, count: 0, digest: lineDigest(), batch: [], chars: 0 };
    } else {
      await flush();
      if (!table || table.name !== marker.data.name || table.count !== marker.data.rows || table.digest.hex() !== marker.data.sha256) {
        throw new RestoreRefused(`the backup is damaged: table ${marker.data.name} does not match its row count and checksum`);
      }
      rows[table.name] = table.count;
      table = undefined;
    }
  }
  throw new RestoreRefused('the backup is truncated: it ends before its trailer');
}

function finish(done: Extract<Marker, { $: 'done' }>, rows: Record<string, number>, sha256: string): { rows: Record<string, number>; sha256: string } {
  if (done.sha256 !== sha256) throw new RestoreRefused('the backup is damaged: its checksum does not match');
  return { rows, sha256 };
}
