import { z } from 'zod';
import { addDays } from '../../analytics/days.js';
import { splitList } from '../../analytics/dimensions.js';
import { buildReport } from '../../analytics/report-data.js';
import { renderReport, reportFormats } from '../../analytics/report-render.js';
import { timeZoneSchema } from '../../analytics/time-zone.js';
import { labelKey } from '../../control/chargeback.js';
import { getKey } from '../../control/keys.js';
import { getTeam } from '../../control/teams.js';
import { getUser } from '../../control/users.js';
import type { Db } from '../../db/database.js';
import { GatewayError } from '../../errors/catalogue.js';
import type { Access } from '../access.js';
import { RawReply, route } from '../route.js';
import { id } from '../schemas.js';

// A calendar month (YYYY-MM) as its first and last day.
const monthDays = (period: string) => {
  const from = `${period}-01`;
  const [y, m] = period.split('-').map(Number) as [number, number];
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
  return { from, to: addDays(next, -1) };
};

// A report carries budgets, anomalies and recommendations besides usage, so its scope itself must be
// within the caller's reach: an org report for org-wide roles, a team's for its managers, a user's
// or key's for whoever may see that user.
async function assertScope(db: Db, access: Access, q: { org: string; team?: string | undefined; user?: string | undefined; key?: string | undefined }): Promise<void> {
  const owner = q.key ? await getUser(db, (await getKey(db, q.key)).userId) : q.user ? await getUser(db, q.user) : undefined;
  const scope = owner ?? (q.team ? await getTeam(db, q.team) : undefined);
  if (scope && scope.orgId !== q.org) throw new GatewayError('invalid_request', `The ${q.key ? 'key' : q.user ? 'user' : 'team'} is not in org ${q.org}.`, q.key ? 'key' : q.user ? 'user' : 'team');
  if (owner) return access.assertUser('usage:read', owner);
  if (q.team) return access.assertTeam('usage:read', scope as { id: string; orgId: string });
  return access.assertTarget('usage:read', { orgId: q.org, teamId: null, userId: null });
}

const reportQuery = z
  .object({
    org: id,
    team: id.optional(),
    user: id.optional(),
    key: id.optional(),
    period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month, YYYY-MM').optional(),
    from: z.iso.date().optional(),
    to: z.iso.date().optional(),
    tz: timeZoneSchema,
    format: z.enum(reportFormats).default('json'),
    top: z.coerce.number().int().min(1).max(100).default(10),
    // Tag names (x-tollgate-tags keys) to rank usage by, each a section of its own.
    tags: z.string().max(400).transform(splitList).pipe(z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be tag names')).max(5)).optional(),
    // Label names (users' and teams' chargeback labels) to charge usage by, each a section of its own.
    labels: z.string().max(400).transform(splitList).pipe(z.array(labelKey).max(5)).optional(),
  })
  .refine((q) => (q.period !== undefined && q.from === undefined && q.to === undefined) || (q.period === undefined && q.from !== undefined && q.to !== undefined), {
    message: 'give either period (YYYY-MM) or both from and to (YYYY-MM-DD)',
    path: ['period'],
  });

export const reportRoutes = [
  route({
    method: 'GET', path: '/reports', tag: 'usage', summary: 'A usage report for an org, team, user or key over a month or days: JSON, CSV, HTML or PDF', permission: 'usage:read',
    query: reportQuery,
    async handle({ db, access, settings, query }) {
      await assertScope(db, access, query);
      const range = query.period ? monthDays(query.period) : { from: query.from!, to: query.to! };
      const report = await buildReport(db, await access.visibility('usage:read'), {
        orgId: query.org, teamId: query.team, userId: query.user, keyId: query.key, ...range, tz: query.tz, top: query.top, tagGroups: query.tags, labelGroups: query.labels, nowMs: Date.now(), analytics: settings.analytics,
      });
      if (query.format === 'json') return report;
      const rendered = await renderReport(report, query.format);
      return new RawReply(rendered.contentType, rendered.body);
    },
  }),
];
