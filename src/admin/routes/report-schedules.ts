// Scheduled report digests: daily, weekly or monthly reports of an org or team sent through alert
// channels. Setting one needs channels:write in its org (it sends there) and usage:read over its
// scope (it reveals that usage); reading needs channels:read. Digests sent are listed per schedule.
import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { reportDigests } from '../../../drizzle/schema/reports.js';
import { getTeam } from '../../control/teams.js';
import { GatewayError } from '../../errors/catalogue.js';
import { createSchedule, deleteSchedule, getSchedule, listSchedules, type ReportSchedule, scheduleInput, schedulePatch, updateSchedule } from '../../reports/schedules.js';
import type { Access } from '../access.js';
import type { Db } from '../../db/database.js';
import { reachOf } from '../rbac.js';
import { route } from '../route.js';
import { id } from '../schemas.js';

async function assertReadable(access: Access, s: Pick<ReportSchedule, 'orgId'>): Promise<void> {
  const { orgId } = await access.visibility('channels:read');
  if (orgId && orgId !== s.orgId) throw new GatewayError('not_found', 'No such report schedule.');
}

async function assertWritable(db: Db, access: Access, s: Pick<ReportSchedule, 'orgId' | 'teamId'>): Promise<void> {
  const { orgId } = await access.visibility('channels:write');
  if (orgId && orgId !== s.orgId) throw new GatewayError('forbidden', 'That org is outside what your role may manage.');
  if (s.teamId) await access.assertTeam('usage:read', await getTeam(db, s.teamId));
  else await access.assertTarget('usage:read', { orgId: s.orgId, teamId: null, userId: null });
}

// Gateway-wide channels (no org) are for callers whose reach is every org.
const mayUseGatewayChannels = async (access: Access) => reachOf(access.actor.role, 'channels:write') === 'all' && (await access.visibility('channels:write')).orgId === null;

export const reportScheduleRoutes = [
  route({
    method: 'GET', path: '/report-schedules', tag: 'usage', summary: 'List scheduled report digests', permission: 'channels:read',
    query: z.object({ orgId: id.optional() }),
    async handle({ db, access, query }) {
      return { data: await listSchedules(db, await access.visibility('channels:read'), query.orgId) };
    },
  }),
  route({
    method: 'POST', path: '/report-schedules', tag: 'usage', summary: 'Schedule a daily, weekly or monthly report digest of an org or team to alert channels (email: HTML body and PDF; Slack: summary; webhook: JSON)', permission: 'channels:write', status: 201,
    body: scheduleInput,
    async handle({ db, access, change, body }) {
      await assertWritable(db, access, body);
      return createSchedule(db, change, body, await mayUseGatewayChannels(access));
    },
  }),
  route({
    method: 'GET', path: '/report-schedules/:id', tag: 'usage', summary: 'Get a report schedule', permission: 'channels:read',
    async handle({ db, access, params }) {
      const schedule = await getSchedule(db, params.id!);
      await assertReadable(access, schedule);
      return schedule;
    },
  }),
  route({
    method: 'PATCH', path: '/report-schedules/:id', tag: 'usage', summary: 'Change a report schedule (name, cadence, tz, channelIds, top, enabled)', permission: 'channels:write',
    body: schedulePatch,
    async handle({ db, access, change, params, body }) {
      await assertWritable(db, access, await getSchedule(db, params.id!));
      return updateSchedule(db, change, params.id!, body, await mayUseGatewayChannels(access));
    },
  }),
  route({
    method: 'DELETE', path: '/report-schedules/:id', tag: 'usage', summary: 'Remove a report schedule', permission: 'channels:write',
    async handle({ db, access, change, params }) {
      await assertWritable(db, access, await getSchedule(db, params.id!));
      await deleteSchedule(db, change, params.id!);
      return { deleted: params.id };
    },
  }),
  route({
    method: 'GET', path: '/report-schedules/:id/digests', tag: 'usage', summary: 'The digests a schedule has sent, newest first (period, state, totals)', permission: 'channels:read',
    async handle({ db, access, params }) {
      const schedule = await getSchedule(db, params.id!);
      await assertReadable(access, schedule);
      const rows = await db.select().from(reportDigests).where(eq(reportDigests.scheduleId, schedule.id)).orderBy(desc(reportDigests.periodFrom)).limit(100);
      return { data: rows.map(({ claimedBy: _c, claimedUntil: _u, ...row }) => row) };
    },
  }),
];
