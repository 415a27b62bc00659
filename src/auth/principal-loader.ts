// Reads principals from Postgres: those of a batch of key hashes (cache misses), of one key or of
// one user (after an invalidation message), each in one query with the team chain walked in SQL.
// Also pages through every key hash once, to build the filter of valid hashes.
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import type { Principal } from './principal.js';

export interface LoadedPrincipal {
  hash: string;
  principal: Principal;
}

export type PrincipalFilter = { kind: 'hashes'; hashes: readonly string[] } | { kind: 'key'; id: string } | { kind: 'user'; id: string };

interface PrincipalRow {
  id: string;
  hash: string;
  org_id: string;
  user_id: string;
  allowed_models: string[] | null;
  scopes: string[];
  expires_at: Date | string | null;
  revoked: boolean;
  user_active: boolean;
  team_ids: string[];
}

// Both drivers answer db.execute with { rows }.
export const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

const whereOf = (filter: PrincipalFilter): SQL =>
  filter.kind === 'hashes' ? sql`k.hash = any(${sql.param([...filter.hashes])}::text[])` : filter.kind === 'key' ? sql`k.id = ${filter.id}` : sql`k.user_id = ${filter.id}`;

export async function loadPrincipals(db: Db, filter: PrincipalFilter): Promise<LoadedPrincipal[]> {
  // The user's team first, then each parent to the root; CYCLE stops a parent loop someone made by
  // hand in the database.
  const result = await db.execute(sql`
    select k.id, k.hash, k.org_id, k.user_id, k.allowed_models, k.scopes, k.expires_at,
      k.revoked_at is not null as revoked, u.active as user_active,
      (with recursive chain(id, parent_id, depth) as (
          select t.id, t.parent_id, 1 from teams t where t.id = u.team_id
          union all
          select t.id, t.parent_id, c.depth + 1 from teams t join chain c on t.id = c.parent_id
        ) cycle id set looped using path
        select coalesce(array_agg(chain.id order by depth), '{}') from chain where not looped) as team_ids
    from api_keys k join users u on u.id = k.user_id
    where ${whereOf(filter)}`);
  return rowsOf<PrincipalRow>(result).map((r) => ({
    hash: r.hash,
    principal: Object.freeze({
      keyId: r.id,
      orgId: r.org_id,
      userId: r.user_id,
      teamIds: Object.freeze([...r.team_ids]),
      allowedModels: r.allowed_models ? new Set(r.allowed_models) : null,
      // An empty list predates scopes: it allows every family.
      scopes: r.scopes.length > 0 ? new Set(r.scopes) : null,
      expiresAtMs: r.expires_at === null ? null : new Date(r.expires_at).getTime(),
      revoked: r.revoked,
      userActive: r.user_active,
    }),
  }));
}

export async function loadPrincipalsByHash(db: Db, hashes: readonly string[]): Promise<Map<string, Principal>> {
  const loaded = await loadPrincipals(db, { kind: 'hashes', hashes });
  return new Map(loaded.map((l) => [l.hash, l.principal]));
}

// The first 16 hex digits (all a Bloom filter reads) of every key hash, in hash order, pageSize at a
// time: keyset paging on the unique hash index, so a million keys never sit in memory at once. A
// page comes back as one string of prefixes (one row to parse instead of thousands) and only a
// quarter of each hash crosses the wire. Each page starts at the previous page's last prefix, so
// keys sharing it are read twice rather than skipped.
export async function forEachKeyHashPrefix(db: Db, pageSize: number, onPage: (prefixes: string[]) => void | Promise<void>): Promise<void> {
  const prefixLength = 16;
  let after = '';
  for (;;) {
    const [row] = rowsOf<{ prefixes: string | null }>(
      await db.execute(sql`
        select string_agg(left(hash, ${prefixLength}), '' order by hash) as prefixes
        from (select hash from api_keys where hash > ${after} order by hash limit ${pageSize}) page`),
    );
    const joined = row?.prefixes ?? '';
    const prefixes: string[] = [];
    for (let at = 0; at < joined.length; at += prefixLength) prefixes.push(joined.slice(at, at + prefixLength));
    await onPage(prefixes);
    const last = prefixes.at(-1);
    if (prefixes.length < pageSize || last === undefined) return;
    // Only a page of keys that all share one 64-bit prefix stands still; never let it loop.
    if (last === after) throw new Error(`more than ${pageSize} key hashes start with ${last}`);
    after = last;
  }
}

export async function countKeys(db: Db): Promise<number> {
  const [row] = rowsOf<{ n: string | number }>(await db.execute(sql`select count(*) as n from api_keys`));
  return Number(row?.n ?? 0);
}
