// Users: the people keys belong to. Deactivating a user (or moving them to another team)
// publishes an invalidation so every replica applies it to all their keys within a second.
import { and, asc, eq, gt, ilike, inArray, type SQL } from 'drizzle-orm';
import { type KeyPolicy, teams, users } from '../../drizzle/schema/index.js';
import type { InvalidationBus } from '../auth/invalidation.js';
import { newId } from '../auth/keys.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import { roles, type ChangeContext, type Role } from './actor.js';
import { recordAudit } from './audit.js';
import { csvRecords } from './csv.js';
import { handleProblem } from './names.js';
import { conflictsAs } from './db-errors.js';
import { getTeam } from './teams.js';
import type { Visibility } from './visibility.js';

export type User = typeof users.$inferSelect;

export async function getUser(db: Db, id: string): Promise<User> {
  const [user] = await db.select().from(users).where(eq(users.id, id));
  if (!user) throw new GatewayError('not_found', `No user ${id}.`);
  return user;
}

async function assertTeamOfOrg(db: Db, orgId: string, teamId: string | null | undefined): Promise<void> {
  if (!teamId) return;
  const team = await getTeam(db, teamId);
  if (team.orgId !== orgId) throw new GatewayError('invalid_request', 'teamId must be a team of the user\'s org.', 'teamId');
}

export interface CreateUserInput {
  orgId: string;
  name: string;
  email?: string | null | undefined;
  teamId?: string | null | undefined;
  role?: Role | undefined;
  keyPolicy?: KeyPolicy | null | undefined;
}

export async function createUser(db: Db, change: ChangeContext, input: CreateUserInput): Promise<User> {
  await assertTeamOfOrg(db, input.orgId, input.teamId);
  return conflictsAs(`A user named "${input.name}"`, () =>
    db.transaction(async (tx) => {
      const [user] = await tx
        .insert(users)
        .values({ id: newId('usr'), orgId: input.orgId, name: input.name, email: input.email ?? null, teamId: input.teamId ?? null, role: input.role ?? 'developer', keyPolicy: input.keyPolicy ?? null })
        .returning();
      await recordAudit(tx, change, { action: 'user.create', resourceType: 'user', resourceId: user!.id, orgId: user!.orgId, before: null, after: user! });
      return user!;
    }),
  );
}

export interface UserPatch {
  name?: string | undefined;
  email?: string | null | undefined;
  teamId?: string | null | undefined;
  role?: Role | undefined;
  active?: boolean | undefined;
  keyPolicy?: KeyPolicy | null | undefined;
}

export async function updateUser(db: Db, bus: InvalidationBus, change: ChangeContext, id: string, patch: UserPatch, action = 'user.update'): Promise<User> {
  const before = await getUser(db, id);
  if (patch.teamId !== undefined) await assertTeamOfOrg(db, before.orgId, patch.teamId);
  const after = await conflictsAs(`A user named "${patch.name}"`, () =>
    db.transaction(async (tx) => {
      const [row] = await tx.update(users).set({ ...patch, updatedAt: new Date() }).where(eq(users.id, id)).returning();
      await recordAudit(tx, change, { action, resourceType: 'user', resourceId: id, orgId: before.orgId, before, after: row! });
      return row!;
    }),
  );
  // Active flag and team chain are part of every principal of the user's keys.
  if (after.active !== before.active || after.teamId !== before.teamId) await bus.publish({ kind: 'user', id });
  return after;
}

export interface UserQuery {
  orgId?: string | undefined;
  teamId?: string | undefined;
  role?: Role | undefined;
  active?: boolean | undefined;
  name?: string | undefined;
  // Case-insensitive substring of the name or email.
  search?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

export function visibleUsers(visible: Visibility): SQL[] {
  const where: SQL[] = [];
  if (visible.orgId) where.push(eq(users.orgId, visible.orgId));
  if (visible.teamIds) where.push(inArray(users.teamId, visible.teamIds.length > 0 ? [...visible.teamIds] : ['']));
  if (visible.userId) where.push(eq(users.id, visible.userId));
  return where;
}

// Ordered by id so a cursor (the last id of a page) pages stably while rows are added.
export async function listUsers(db: Db, visible: Visibility, q: UserQuery): Promise<{ data: User[]; nextCursor: string | null }> {
  const where = visibleUsers(visible);
  if (q.orgId) where.push(eq(users.orgId, q.orgId));
  if (q.teamId) where.push(eq(users.teamId, q.teamId));
  if (q.role) where.push(eq(users.role, q.role));
  if (q.active !== undefined) where.push(eq(users.active, q.active));
  if (q.name) where.push(eq(users.name, q.name));
  if (q.search) where.push(ilike(users.name, `%${q.search.replace(/[%_\\]/g, '\\$&')}%`));
  if (q.cursor) where.push(gt(users.id, q.cursor));
  const rows = await db.select().from(users).where(and(...where)).orderBy(asc(users.id)).limit(q.limit + 1);
  const data = rows.slice(0, q.limit);
  return { data, nextCursor: rows.length > q.limit ? data.at(-1)!.id : null };
}

export type ImportRowResult = { row: number; name: string; status: 'created'; id: string } | { row: number; name: string; status: 'failed'; error: string };

// What the importing caller may do, decided by the admin API from their role and reach: the same
// checks as creating each user through the JSON route.
export interface ImportPermissions {
  allowedTeam(teamId: string | null): boolean;
  mayGrant(role: Role): boolean;
}

// One transaction per row: a bad row is reported and the rest still go in. Columns: name
// (required), email, team (a team name in the org), role.
export async function importUsersCsv(db: Db, change: ChangeContext, orgId: string, csv: string, may: ImportPermissions): Promise<ImportRowResult[]> {
  const records = csvRecords(csv);
  const teamRows = await db.select({ id: teams.id, name: teams.name }).from(teams).where(eq(teams.orgId, orgId));
  const teamByName = new Map(teamRows.map((t) => [t.name, t.id]));
  const results: ImportRowResult[] = [];
  for (const [i, r] of records.entries()) {
    // Row 1 is the header, so data rows are numbered from 2 as a spreadsheet shows them.
    const row = i + 2;
    const name = r.name ?? '';
    const fail = (error: string) => results.push({ row, name, status: 'failed', error });
    const nameProblem = handleProblem(name);
    if (nameProblem) { fail(`name ${nameProblem}`); continue; }
    const role = r.role || 'developer';
    if (!(roles as readonly string[]).includes(role)) { fail(`role must be one of ${roles.join(', ')}`); continue; }
    if (!may.mayGrant(role as Role)) { fail(`you may not give a user the ${role} role`); continue; }
    if (r.email && !/^[^@\s]+@[^@\s]+$/.test(r.email)) { fail('email is not an email address'); continue; }
    const teamId = r.team ? teamByName.get(r.team) : null;
    if (teamId === undefined) { fail(`no team named "${r.team}" in the org`); continue; }
    if (!may.allowedTeam(teamId)) { fail('you may not add users to this team'); continue; }
    try {
      const user = await createUser(db, change, { orgId, name, email: r.email || null, teamId, role: role as Role });
      results.push({ row, name, status: 'created', id: user.id });
    } catch (err) {
      if (!(err instanceof GatewayError) || err.code === 'internal_error') throw err;
      fail(err.message);
    }
  }
  return results;
}
