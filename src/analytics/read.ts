// How analytics reads the ledger: one statement in its own transaction with settings fit for a
// large aggregation. Room to hash in memory: with the default work_mem, 860k hourly rows were
// sorted on disk (3.4 s on the bench box instead of well under one). No JIT: these statements
// have high estimated costs and many expressions, so Postgres compiled them every time, and on
// the bench box compiling took 2.9 s of a 3.3 s query whose execution needed 0.4 s.
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database.js';

export async function readRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = await db.transaction(async (tx) => {
    await tx.execute(sql`set local work_mem = '64MB'`);
    await tx.execute(sql`set local jit = off`);
    return tx.execute(query);
  });
  return (result as unknown as { rows: T[] }).rows;
}
