// A user's team and every team above it: the teams whose budgets a request of theirs is charged to.
import { eq } from 'drizzle-orm';
import { teams } from '../../drizzle/schema/index.js';
import type { Db } from '../db/database.js';

export async function loadTeamChain(db: Db, teamId: string | null): Promise<string[]> {
  const chain: string[] = [];
  // The visited check stops a parent cycle someone made by hand in the database.
  for (let id = teamId; id && !chain.includes(id); ) {
    chain.push(id);
    const [row] = await db.select({ parentId: teams.parentId }).from(teams).where(eq(teams.id, id));
    id = row?.parentId ?? null;
  }
  return chain;
}
