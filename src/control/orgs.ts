// Orgs: the top of the hierarchy and the unit budgets and usage are partitioned by.
import { asc, eq } from 'drizzle-orm';
import { orgs } from '../../drizzle/schema/index.js';
import { newId } from '../auth/keys.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ChangeContext } from './actor.js';
import { recordAudit } from './audit.js';
import { conflictsAs } from './db-errors.js';

export type Org = typeof orgs.$inferSelect;

export async function createOrg(db: Db, change: ChangeContext, input: { name: string }): Promise<Org> {
  return conflictsAs(`An org named "${input.name}"`, () =>
    db.transaction(async (tx) => {
      const [org] = await tx.insert(orgs).values({ id: newId('org'), name: input.name }).returning();
      await recordAudit(tx, change, { action: 'org.create', resourceType: 'org', resourceId: org!.id, orgId: org!.id, before: null, after: org! });
      return org!;
    }),
  );
}

export async function listOrgs(db: Db, orgId: string | null): Promise<Org[]> {
  return db.select().from(orgs).where(orgId ? eq(orgs.id, orgId) : undefined).orderBy(asc(orgs.name));
}

export async function getOrg(db: Db, id: string): Promise<Org> {
  const [org] = await db.select().from(orgs).where(eq(orgs.id, id));
  if (!org) throw new GatewayError('not_found', `No org ${id}.`);
  return org;
}

export async function findOrgByName(db: Db, name: string): Promise<Org | undefined> {
  const [org] = await db.select().from(orgs).where(eq(orgs.name, name));
  return org;
}
