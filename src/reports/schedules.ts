// Report schedules as the control plane manages them: which org or team, how often, in which zone,
// to which alert channels. Input is validated here (zod, shared with the admin API and the CLI);
// every change is audited in its own transaction.
import { and, asc, eq, inArray, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { alertChannels } from '../../drizzle/schema/index.js';
import { digestCadences, reportSchedules } from '../../drizzle/schema/reports.js';
import { timeZoneSchema } from '../analytics/time-zone.js';
import { newId } from '../auth/keys.js';
import type { ChangeContext } from '../control/actor.js';
import { recordAudit } from '../control/audit.js';
import { conflictsAs } from '../control/db-errors.js';
import { getTeam } from '../control/teams.js';
import type { Visibility } from '../control/visibility.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';

export type ReportSchedule = typeof reportSchedules.$inferSelect;

// A zone given explicitly (no default), checked as every analytics entry point checks it.
const zoneName = z.string().max(64).refine((tz) => timeZoneSchema.safeParse(tz).success, 'must be an IANA time zone such as Europe/Berlin or Asia/Kolkata');

const channelIds = z.array(z.string().min(1).max(200)).min(1).max(20);

export const scheduleInput = z
  .object({
    orgId: z.string().min(1).max(200),
    teamId: z.string().min(1).max(200).nullable().default(null),
    name: z.string().trim().min(1).max(200),
    cadence: z.enum(digestCadences),
    tz: timeZoneSchema,
    channelIds,
    top: z.number().int().min(1).max(100).default(10),
    enabled: z.boolean().default(true),
  })
  .strict();
export type ScheduleInput = z.output<typeof scheduleInput>;

export const schedulePatch = z
  .object({ name: z.string().trim().min(1).max(200), cadence: z.enum(digestCadences), tz: zoneName, channelIds, top: z.number().int().min(1).max(100), enabled: z.boolean() })
  .partial()
  .strict()
  .refine((p) => Object.keys(p).length > 0, { message: 'must change at least one of name, cadence, tz, channelIds, top, enabled' });
export type SchedulePatch = z.output<typeof schedulePatch>;

export async function getSchedule(db: Db, id: string): Promise<ReportSchedule> {
  const [row] = await db.select().from(reportSchedules).where(eq(reportSchedules.id, id));
  if (!row) throw new GatewayError('not_found', `No report schedule ${id}.`);
  return row;
}

// A digest goes only to channels of its own org (a gateway-wide channel only when the caller may
// use those), and a team schedule's team must be of the org.
async function assertTargets(db: Db, orgId: string, teamId: string | null, ids: readonly string[], gatewayChannels: boolean): Promise<void> {
  if (teamId && (await getTeam(db, teamId)).orgId !== orgId) throw new GatewayError('invalid_request', 'teamId must be a team of the org.', 'teamId');
  const found = await db.select({ id: alertChannels.id, orgId: alertChannels.orgId }).from(alertChannels).where(inArray(alertChannels.id, [...ids]));
  for (const id of ids) {
    const channel = found.find((c) => c.id === id);
    if (!channel) throw new GatewayError('invalid_request', `No alert channel ${id}.`, 'channelIds');
    if (channel.orgId === null ? !gatewayChannels : channel.orgId !== orgId) throw new GatewayError('invalid_request', `Alert channel ${id} is not one of org ${orgId}'s channels.`, 'channelIds');
  }
}

export async function createSchedule(db: Db, change: ChangeContext, input: ScheduleInput, gatewayChannels: boolean): Promise<ReportSchedule> {
  await assertTargets(db, input.orgId, input.teamId, input.channelIds, gatewayChannels);
  return conflictsAs(`A report schedule named "${input.name}"`, () =>
    db.transaction(async (tx) => {
      const [row] = await tx.insert(reportSchedules).values({ id: newId('rsch'), ...input }).returning();
      await recordAudit(tx, change, { action: 'report_schedule.create', resourceType: 'report_schedule', resourceId: row!.id, orgId: row!.orgId, before: null, after: row! });
      return row!;
    }),
  );
}

export async function updateSchedule(db: Db, change: ChangeContext, id: string, patch: SchedulePatch, gatewayChannels: boolean): Promise<ReportSchedule> {
  const before = await getSchedule(db, id);
  if (patch.channelIds) await assertTargets(db, before.orgId, before.teamId, patch.channelIds, gatewayChannels);
  return conflictsAs(`A report schedule named "${patch.name}"`, () =>
    db.transaction(async (tx) => {
      const [row] = await tx.update(reportSchedules).set({ ...patch, updatedAt: new Date() }).where(eq(reportSchedules.id, id)).returning();
      await recordAudit(tx, change, { action: 'report_schedule.update', resourceType: 'report_schedule', resourceId: id, orgId: before.orgId, before, after: row! });
      return row!;
    }),
  );
}

export async function deleteSchedule(db: Db, change: ChangeContext, id: string): Promise<void> {
  const before = await getSchedule(db, id);
  await db.transaction(async (tx) => {
    await tx.delete(reportSchedules).where(eq(reportSchedules.id, id));
    await recordAudit(tx, change, { action: 'report_schedule.delete', resourceType: 'report_schedule', resourceId: id, orgId: before.orgId, before, after: null });
  });
}

export async function listSchedules(db: Db, visible: Visibility, orgId: string | undefined): Promise<ReportSchedule[]> {
  const where: SQL[] = [];
  if (visible.orgId) where.push(eq(reportSchedules.orgId, visible.orgId));
  if (orgId) where.push(eq(reportSchedules.orgId, orgId));
  const rows = await db.select().from(reportSchedules).where(and(...where)).orderBy(asc(reportSchedules.name));
  // A scoped role sees the schedules of its teams.
  return visible.teamIds ? rows.filter((r) => r.teamId !== null && visible.teamIds!.includes(r.teamId)) : rows;
}
