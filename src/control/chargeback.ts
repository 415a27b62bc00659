// Chargeback metadata: who pays for a user's or a team's usage. Each carries a department, a cost
// center and free key-value labels, set through PATCH, CSV import or the CLI and exported as CSV.
// Labels change as a JSON merge patch (a null value removes the label), merged in SQL so two
// concurrent changes to different labels both land; the bounds are checked in the same transaction.
// A new department, cost center or label takes effect at the next whole UTC hour: the values it replaces
// are kept in chargeback_history until then, so past usage stays charged to who paid at the time.
import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { chargebackHistory, teams, users } from '../../drizzle/schema/index.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ChangeContext } from './actor.js';
import { recordAudit } from './audit.js';
import { csvRecords, toCsv } from './csv.js';
import { controlCharacters } from './names.js';
import type { Visibility } from './visibility.js';

export const maxLabels = 20;
const labelKeyPattern = /^[A-Za-z0-9_.-]{1,64}$/;

const text = (max: number) =>
  z.string().trim().min(1).max(max).refine((v) => !controlCharacters.test(v), 'must not contain control characters');

export const department = text(100);
export const costCenter = text(64);
export const labelKey = z.string().regex(labelKeyPattern, 'must be 1-64 letters, digits, _ . or -');
export const labelValue = text(200);

// A PATCH's chargeback fields: null clears a field; in labels, null removes that label.
export const chargebackFields = {
  department: department.nullable().optional(),
  costCenter: costCenter.nullable().optional(),
  labels: z
    .record(labelKey, labelValue.nullable())
    .refine((l) => Object.keys(l).length <= maxLabels, `may name at most ${maxLabels} labels`)
    .optional(),
};

export interface ChargebackPatch {
  department?: string | null | undefined;
  costCenter?: string | null | undefined;
  labels?: Record<string, string | null> | undefined;
}

export const hasChargeback = (p: ChargebackPatch): boolean => p.department !== undefined || p.costCenter !== undefined || p.labels !== undefined;

export type ChargebackKind = 'user' | 'team';
const tables = { user: users, team: teams } as const;

// Applies the patch to one user or team and records it in the audit log; returns the whole row.
export async function setChargeback(db: Db, change: ChangeContext, kind: ChargebackKind, id: string, patch: ChargebackPatch) {
  const table = tables[kind];
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(table).where(eq(table.id, id)).for('update');
    if (!before) throw new GatewayError('not_found', `No ${kind} ${id}.`);
    const labels = patch.labels ?? {};
    const set = Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== null));
    const removed = Object.keys(labels).filter((k) => labels[k] === null);
    const [after] = await tx
      .update(table)
      .set({
        ...(patch.department !== undefined ? { department: patch.department } : {}),
        ...(patch.costCenter !== undefined ? { costCenter: patch.costCenter } : {}),
        ...(patch.labels !== undefined
          ? { labels: sql`(${table.labels} || ${JSON.stringify(set)}::jsonb) - ${sql`array[${sql.join([...removed.map((k) => sql`${k}`), sql`''`], sql`, `)}]::text[]`}` }
          : {}),
        ...(kind === 'user' ? { updatedAt: new Date() } : {}),
      })
      .where(eq(table.id, id))
      .returning();
    if (Object.keys(after!.labels).length > maxLabels) {
      throw new GatewayError('invalid_request', `A ${kind} carries at most ${maxLabels} labels.`, 'labels');
    }
    const sameLabels = JSON.stringify(Object.entries(before.labels).sort()) === JSON.stringify(Object.entries(after!.labels).sort());
    if (before.department !== after!.department || before.costCenter !== after!.costCenter || !sameLabels) {
      await tx.insert(chargebackHistory).values({
        orgId: before.orgId,
        ...(kind === 'user' ? { userId: id } : { teamId: id }),
        department: before.department,
        costCenter: before.costCenter,
        labels: before.labels,
        validUntil: sql`date_trunc('hour', now(), 'UTC') + interval '1 hour'`,
      });
    }
    await recordAudit(tx, change, { action: `${kind}.chargeback`, resourceType: kind, resourceId: id, orgId: before.orgId, before, after: after! });
    return after!;
  });
}

export type MetadataImportResult =
  | { row: number; type: string; name: string; status: 'updated'; id: string }
  | { row: number; type: string; name: string; status: 'failed'; error: string };

// What the importing caller may change, decided by the admin API as for one PATCH.
export interface MetadataImportPermissions {
  mayChange(kind: ChargebackKind, row: { id: string; orgId: string; teamId: string | null }): Promise<string | undefined>;
}

const labelColumn = 'label:';

// The metadata of every user and team of an org as a CSV file (type,name,department,cost_center,
// label:KEY…). Import takes the same columns: a row sets exactly what it carries, so an empty cell
// clears a field or removes that label; columns absent from the file are left alone.
export async function importChargebackCsv(db: Db, change: ChangeContext, orgId: string, csv: string, may: MetadataImportPermissions): Promise<MetadataImportResult[]> {
  const records = csvRecords(csv);
  const results: MetadataImportResult[] = [];
  const userRows = await db.select({ id: users.id, orgId: users.orgId, teamId: users.teamId, name: users.name }).from(users).where(eq(users.orgId, orgId));
  const teamRows = await db.select({ id: teams.id, orgId: teams.orgId, name: teams.name }).from(teams).where(eq(teams.orgId, orgId));
  for (const [i, r] of records.entries()) {
    // Row 1 is the header, so data rows are numbered from 2 as a spreadsheet shows them.
    const row = i + 2;
    const type = r.type ?? '';
    const name = r.name ?? '';
    const fail = (error: string) => results.push({ row, type, name, status: 'failed', error });
    if (type !== 'user' && type !== 'team') { fail('type must be user or team'); continue; }
    const target = type === 'user' ? userRows.find((u) => u.name === name || u.id === name) : teamRows.map((t) => ({ ...t, teamId: t.id })).find((t) => t.name === name || t.id === name);
    if (!target) { fail(`no ${type} named "${name}" in the org`); continue; }
    const labels = Object.fromEntries(Object.entries(r).filter(([k]) => k.startsWith(labelColumn)).map(([k, v]) => [k.slice(labelColumn.length), v === '' ? null : v]));
    const patch = z
      .object(chargebackFields)
      .strict()
      .safeParse({
        ...('department' in r ? { department: r.department || null } : {}),
        ...('cost_center' in r ? { costCenter: r.cost_center || null } : {}),
        ...(Object.keys(labels).length ? { labels } : {}),
      });
    if (!patch.success) { fail(patch.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')); continue; }
    const refused = await may.mayChange(type, target);
    if (refused) { fail(refused); continue; }
    try {
      await setChargeback(db, change, type, target.id, patch.data);
      results.push({ row, type, name, status: 'updated', id: target.id });
    } catch (err) {
      if (!(err instanceof GatewayError) || err.code === 'internal_error') throw err;
      fail(err.message);
    }
  }
  return results;
}

// Visible users and every team of the org, as the import reads them back.
export async function exportChargebackCsv(db: Db, visible: Visibility, orgId: string): Promise<string> {
  const userWhere = [eq(users.orgId, orgId)];
  if (visible.userId !== null) userWhere.push(eq(users.id, visible.userId));
  const userRows = await db.select({ name: users.name, teamId: users.teamId, department: users.department, costCenter: users.costCenter, labels: users.labels }).from(users).where(and(...userWhere)).orderBy(asc(users.name));
  const teamRows = visible.userId !== null ? [] : await db.select({ id: teams.id, name: teams.name, department: teams.department, costCenter: teams.costCenter, labels: teams.labels }).from(teams).where(eq(teams.orgId, orgId)).orderBy(asc(teams.name));
  const seen = (teamId: string | null) => !visible.teamIds || (teamId !== null && visible.teamIds.includes(teamId));
  const rows = [
    ...teamRows.filter((t) => seen(t.id)).map((t) => ({ type: 'team', ...t })),
    ...userRows.filter((u) => visible.userId !== null || seen(u.teamId)).map((u) => ({ type: 'user', ...u })),
  ];
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.labels)))].sort();
  const columns = ['type', 'name', 'department', 'cost_center', ...keys.map((k) => `${labelColumn}${k}`)];
  return toCsv<Record<string, unknown>>(columns, rows.map((r) => ({ type: r.type, name: r.name, department: r.department, cost_center: r.costCenter, ...Object.fromEntries(keys.map((k) => [`${labelColumn}${k}`, r.labels[k] ?? null])) })));
}
