// Reads principals from Postgres: all at once (startup, periodic backstop) or those of one key or
// user (after an invalidation message). Never called on the request path.
import { eq, type SQL } from 'drizzle-orm';
import { apiKeys, teams, users } from '../../drizzle/schema/index.js';
import type { Db } from '../db/database.js';
import type { Principal } from './principal.js';

export interface LoadedPrincipal {
  hash: string;
  principal: Principal;
}

export type PrincipalFilter = { kind: 'all' } | { kind: 'key'; id: string } | { kind: 'user'; id: string };

function teamChain(teamId: string | null, parents: ReadonlyMap<string, string | null>): string[] {
  const chain: string[] = [];
  // The visited check stops a parent cycle someone made by hand in the database.
  for (let id = teamId; id && !chain.includes(id); id = parents.get(id) ?? null) chain.push(id);
  return chain;
}

export async function loadPrincipals(db: Db, filter: PrincipalFilter): Promise<LoadedPrincipal[]> {
  const where: SQL | undefined =
    filter.kind === 'key' ? eq(apiKeys.id, filter.id) : filter.kind === 'user' ? eq(apiKeys.userId, filter.id) : undefined;
  const [rows, teamRows] = await Promise.all([
    db
      .select({
        id: apiKeys.id,
        hash: apiKeys.hash,
        orgId: apiKeys.orgId,
        userId: apiKeys.userId,
        allowedModels: apiKeys.allowedModels,
        scopes: apiKeys.scopes,
        expiresAt: apiKeys.expiresAt,
        revokedAt: apiKeys.revokedAt,
        teamId: users.teamId,
        userActive: users.active,
      })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(where),
    db.select({ id: teams.id, parentId: teams.parentId }).from(teams),
  ]);
  const parents = new Map(teamRows.map((t) => [t.id, t.parentId]));
  return rows.map((r) => ({
    hash: r.hash,
    principal: Object.freeze({
      keyId: r.id,
      orgId: r.orgId,
      userId: r.userId,
      teamIds: Object.freeze(teamChain(r.teamId, parents)),
      allowedModels: r.allowedModels ? new Set(r.allowedModels) : null,
      // An empty list predates scopes: it allows every family.
      scopes: r.scopes.length > 0 ? new Set(r.scopes) : null,
      expiresAtMs: r.expiresAt ? r.expiresAt.getTime() : null,
      revoked: r.revokedAt !== null,
      userActive: r.userActive,
    }),
  }));
}
