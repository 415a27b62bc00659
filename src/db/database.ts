// One drizzle database over either real Postgres (DATABASE_URL) or embedded PGlite (dataDir), with
// the migrations under drizzle/migrations. Callers see the same PgDatabase either way.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import * as schema from '../../drizzle/schema/index.js';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  migrate(): Promise<void>;
  // Throws when migrations in drizzle/migrations have not all been applied.
  assertMigrated(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class UnmigratedDatabaseError extends Error {
  override name = 'UnmigratedDatabaseError';
}

export const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle/migrations');

interface Journal {
  entries: Array<{ tag: string; when: number }>;
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  poolSize?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    // An idle client losing its connection (Postgres restart) must not crash the process.
    pool.on('error', () => {});
    const db = drizzlePg(pool, { schema }) as unknown as Db;
    return finish(db, 'postgres', () => migratePg(drizzlePg(pool), { migrationsFolder }), () => pool.end());
  }
  const dir = resolve(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const client = await PGlite.create(dir);
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return finish(db, 'pglite', () => migratePglite(drizzlePglite(client), { migrationsFolder }), () => client.close());
}

function finish(db: Db, kind: Database['kind'], runMigrations: () => Promise<void>, close: () => Promise<void>): Database {
  return {
    db,
    kind,
    migrate: runMigrations,
    async assertMigrated() {
      const journal = JSON.parse(readFileSync(resolve(migrationsFolder, 'meta/_journal.json'), 'utf8')) as Journal;
      const latest = Math.max(...journal.entries.map((e) => e.when));
      let applied = 0;
      try {
        const rows = await db.execute(sql`select max(created_at) as latest from drizzle.__drizzle_migrations`);
        applied = Number((rows as unknown as { rows: Array<{ latest: unknown }> }).rows[0]?.latest ?? 0);
      } catch {
        applied = 0;
      }
      if (applied < latest) {
        throw new UnmigratedDatabaseError('the database is not migrated to this version of Tollgate: run `tollgate migrate` (or `npm run migrate`) first');
      }
    },
    async ping() {
      await db.execute(sql`select 1`);
    },
    close,
  };
}
