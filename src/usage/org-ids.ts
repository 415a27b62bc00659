// The flusher's view of which usage streams exist: one per org in the control plane. Redis
// Cluster has no cross-slot SCAN that could find them reliably, so the org table is the index.
import { orgs } from '../../drizzle/schema/identity.js';
import type { Database } from '../db/database.js';

export function orgIdsFrom(database: Pick<Database, 'db'>): () => Promise<string[]> {
  return async () => (await database.db.select({ id: orgs.id }).from(orgs)).map((row) => row.id);
}
