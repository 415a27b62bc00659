// Teams nest through parent_id; a user's budgets are charged to their team and every team above
// it, so moving a team re-shapes every principal below it and invalidates them all.
import { and, asc, eq, inArray, type SQL } from 'drizzle-orm';
import { teams } from '../../drizzle/schema/index.js';
import type { InvalidationBus } from '../auth/invalidation.js';
import { newId } from '../auth/keys.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ChangeContext } from './actor.js';
import { recordAudit } from './audit.js';
import { conflictsAs } from './db-errors.js';
import type { Visibility } from './visibility.js';

export type Team = typeof teams.$inferSelect;

export async function getTeam(db: Db, id: string): Promise<Team> {
  const [team] = await db.select().from(teams).where(eq(teams.id, id));
  if (!team) throw new GatewayError('not_found', `No team ${id}.`);
  return team;
}

// The team and every team below it: what a manager of the team may manage.
export async function teamSubtree(db: Db, rootId: string): Promise<string[]> {
  const [root] = await db.select({ orgId: teams.orgId }).from(teams).where(eq(teams.id, rootId));
  if (!root) return [];
  const all = await db.select({ id: teams.id, parentId: teams.parentId }).from(teams).where(eq(teams.orgId, root.orgId));
  const children = new Map<string, string[]>();
  for (const t of all) if (t.parentId) children.set(t.parentId, [...(children.get(t.parentId) ?? []), t.id]);
  const found = [rootId];
  for (let i = 0; i < found.length; i++) for (const c of children.get(found[i]!) ?? []) if (!found.includes(c)) found.push(c);
  return found;
}

async function assertParent(db: Db, orgId: string, teamId: string | null, parentId: string | null): Promise<void> {
  if (!parentId) return;
  const parent = await getTeam(db, parentId);
  if (parent.orgId !== orgId) throw new GatewayError('invalid_request', 'parentId must be a team of the same org.', 'parentId');
  if (teamId && (await teamSubtree(db, teamId)).includes(parentId)) {
    throw new GatewayError('invalid_request', 'parentId would make the team its own ancestor.', 'parentId');
  }
}

export interface CreateTeamInput {
  orgId: string;
  name: string;
  parentId?: string | null | undefined;
}

export async function createTeam(db: Db, change: ChangeContext, input: CreateTeamInput): Promise<Team> {
  await assertParent(db, input.orgId, null, input.parentId ?? null);
  return conflictsAs(`A team named "${input.name}"`, () =>
    db.transaction(async (tx) => {
      const [team] = await tx.insert(teams).values({ id: newId('team'), orgId: input.orgId, name: input.name, parentId: input.parentId ?? null }).returning();
      await recordAudit(tx, change, { action: 'team.create', resourceType: 'team', resourceId: team!.id, orgId: team!.orgId, before: null, after: team! });
      return team!;
    }),
  );
}

export async function updateTeam(db: Db, bus: InvalidationBus, change: ChangeContext, id: string, patch: { name?: string | undefined; parentId?: string | null | undefined }): Promise<Team> {
  const before = await getTeam(db, id);
  if (patch.parentId !== undefined) await assertParent(db, before.orgId, id, patch.parentId);
  const after = await conflictsAs(`A team named "${patch.name}"`, () =>
    db.transaction(async (tx) => {
      const [row] = await tx.update(teams).set(patch).where(eq(teams.id, id)).returning();
      await recordAudit(tx, change, { action: 'team.update', resourceType: 'team', resourceId: id, orgId: before.orgId, before, after: row! });
      return row!;
    }),
  );
  // A new parent changes the team chain of every principal below it.
  if (patch.parentId !== undefined && patch.parentId !== before.parentId) await bus.publish({ kind: 'all' });
  return after;
}

export interface TeamQuery {
  orgId?: string | undefined;
  parentId?: string | undefined;
  name?: string | undefined;
}

export async function listTeams(db: Db, visible: Visibility, q: TeamQuery): Promise<Team[]> {
  const where: SQL[] = [];
  if (visible.orgId) where.push(eq(teams.orgId, visible.orgId));
  if (visible.teamIds) where.push(inArray(teams.id, visible.teamIds.length > 0 ? [...visible.teamIds] : ['']));
  if (q.orgId) where.push(eq(teams.orgId, q.orgId));
  if (q.parentId) where.push(eq(teams.parentId, q.parentId));
  if (q.name) where.push(eq(teams.name, q.name));
  return db.select().from(teams).where(and(...where)).orderBy(asc(teams.name));
}
