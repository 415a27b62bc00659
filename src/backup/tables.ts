// What a backup covers, read from the database's own catalog rather than a list kept by hand, so
// a table a later migration adds is backed up without anyone remembering to: every table of the
// public schema, parents before children (foreign keys), less the derived ones rebuilt on their own.
import { sql } from 'drizzle-orm';
import { rowsOf } from '../auth/principal-loader.js';
import type { Db } from '../db/database.js';

// Tables whose rows are regenerated rather than restored, and why.
export const derivedTables: ReadonlyMap<string, string> = new Map([
  // Triggers refill it as keys are written, and a gateway starting loads every key anyway.
  ['key_changes', 'the principal caches\' change feed'],
]);

export interface Partition {
  name: string;
  // FOR VALUES ... as pg_get_expr prints it.
  bound: string;
}

export interface TableShape {
  name: string;
  columns: string[];
  // Columns fed by a sequence (bigserial): the sequence is moved past the restored ids.
  serialColumns: string[];
  // A partitioned table's partitions (the usage ledger's months): its rows are dumped and loaded
  // through the parent, and a restore makes the partitions they need first.
  partitions: Partition[];
}

export interface PublicColumn {
  table_name: string;
  column_name: string;
  data_type: string;
  serial: boolean;
}

// Every column of the public schema's tables and partitioned tables, not of their partitions
// (whose rows the parent reads and routes), in table and column order.
export async function publicColumns(db: Db): Promise<PublicColumn[]> {
  return rowsOf<PublicColumn>(
    await db.execute(sql`
      select table_name, column_name, data_type, coalesce(column_default like 'nextval(%', false) as serial
      from information_schema.columns
      where table_schema = 'public' and is_generated = 'NEVER'
        and table_name in (select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                           where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition)
      order by table_name, ordinal_position`),
  );
}

export async function publicTables(db: Db): Promise<TableShape[]> {
  const columns = await publicColumns(db);
  const partitions = rowsOf<{ parent: string; name: string; bound: string }>(
    await db.execute(sql`
      select p.relname as parent, c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
      from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
      join pg_class p on p.oid = i.inhparent
      join pg_namespace n on n.oid = p.relnamespace
      where n.nspname = 'public' and p.relkind = 'p'
      order by c.relname`),
  );
  const edges = rowsOf<{ child: string; parent: string }>(
    await db.execute(sql`
      select c.relname as child, p.relname as parent
      from pg_constraint k
      join pg_class c on c.oid = k.conrelid
      join pg_class p on p.oid = k.confrelid
      join pg_namespace n on n.oid = c.relnamespace
      where k.contype = 'f' and n.nspname = 'public' and c.relname <> p.relname`),
  );
  const shapes = new Map<string, TableShape>();
  for (const c of columns) {
    const shape = shapes.get(c.table_name) ?? { name: c.table_name, columns: [], serialColumns: [], partitions: partitions.filter((p) => p.parent === c.table_name).map(({ name, bound }) => ({ name, bound })) };
    shape.columns.push(c.column_name);
    if (c.serial) shape.serialColumns.push(c.column_name);
    shapes.set(c.table_name, shape);
  }
  return dependencyOrder([...shapes.keys()].sort(), edges).map((name) => shapes.get(name)!);
}

// Parents first; names stay sorted among tables free at the same time, so the order is stable.
export function dependencyOrder(names: readonly string[], edges: ReadonlyArray<{ child: string; parent: string }>): string[] {
  const ordered: string[] = [];
  const placed = new Set<string>();
  while (ordered.length < names.length) {
    const ready = names.filter((n) => !placed.has(n) && edges.every((e) => e.child !== n || placed.has(e.parent) || !names.includes(e.parent)));
    if (ready.length === 0) throw new Error(`foreign keys form a cycle among ${names.filter((n) => !placed.has(n)).join(', ')}`);
    for (const n of ready) {
      ordered.push(n);
      placed.add(n);
    }
  }
  return ordered;
}

export const backedUpTables = (tables: readonly TableShape[]): TableShape[] => tables.filter((t) => !derivedTables.has(t.name));
