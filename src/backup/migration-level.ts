// Where a database stands in drizzle/migrations: its level is the `when` of the newest migration
// applied (what drizzle's migrator compares), and a database can be brought up to a given level
// only, so a backup's rows go into the schema they were dumped from before later migrations run.
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { rowsOf } from '../auth/principal-loader.js';
import { type Database, type Db, migrationsFolder } from '../db/database.js';

type Migration = ReturnType<typeof readMigrationFiles>[number];

const shippedMigrations = (): Migration[] => readMigrationFiles({ migrationsFolder });

// The level this build of Tollgate migrates to.
export const shippedLevel = (): number => Math.max(...shippedMigrations().map((m) => m.folderMillis));

export const isShippedLevel = (level: number): boolean => shippedMigrations().some((m) => m.folderMillis === level);

// 0 for a database no migration has touched.
export async function appliedLevel(db: Db): Promise<number> {
  try {
    const rows = rowsOf<{ level: string | number | null }>(await db.execute(sql`select max(created_at) as level from drizzle.__drizzle_migrations`));
    return Number(rows[0]?.level ?? 0);
  } catch {
    return 0;
  }
}

interface Migrator {
  dialect: { migrate(migrations: Migration[], session: unknown, config: { migrationsFolder: string }): Promise<void> };
  session: unknown;
}

// Applies the shipped migrations up to `level` inclusive (drizzle's own migrator, given a shorter
// list), as `tollgate migrate` would have left a database of that release.
export async function migrateUpTo(database: Database, level: number): Promise<void> {
  const migrator = database.db as unknown as Migrator;
  await migrator.dialect.migrate(shippedMigrations().filter((m) => m.folderMillis <= level), migrator.session, { migrationsFolder });
}
