import { z } from 'zod';
import { auditToCsv, listAudit } from '../../control/audit.js';
import { RawReply, route } from '../route.js';
import { isoDate } from '../schemas.js';

const filters = {
  action: z.string().optional(),
  resourceType: z.string().optional(),
  resourceId: z.string().optional(),
  actorId: z.string().optional(),
  orgId: z.string().optional(),
  since: isoDate.optional(),
  until: isoDate.optional(),
};

export const auditRoutes = [
  route({
    method: 'GET', path: '/audit', tag: 'audit', summary: 'Query the audit log, newest first', permission: 'audit:read',
    query: z.object({ ...filters, cursor: z.coerce.number().int().positive().optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
    handle: async ({ db, access, query }) => listAudit(db, await access.visibility('audit:read'), query),
  }),
  route({
    method: 'GET', path: '/audit/export', tag: 'audit', summary: 'Export the audit log as CSV or JSON lines', permission: 'audit:read',
    query: z.object({ ...filters, format: z.enum(['csv', 'jsonl']).default('csv'), limit: z.coerce.number().int().min(1).max(100_000).default(10_000) }),
    async handle({ db, access, query }) {
      const { data } = await listAudit(db, await access.visibility('audit:read'), query);
      return query.format === 'csv' ? new RawReply('text/csv; charset=utf-8', auditToCsv(data)) : new RawReply('application/x-ndjson', data.map((r) => JSON.stringify(r)).join('\n') + '\n');
    },
  }),
];
