import { z } from 'zod';
import { parseChargebackGrouping, queryChargebackUsage } from '../../analytics/chargeback-usage.js';
import { parseTagFilters, splitList, type Filters } from '../../analytics/dimensions.js';
import { queryUsage } from '../../analytics/query.js';
import { timeZoneSchema } from '../../analytics/time-zone.js';
import { route } from '../route.js';

// A word list parsed by `parse`, whose error message becomes the zod issue.
const parsedText = <T>(parse: (text: string) => T | string) =>
  z
    .string()
    .max(4_000)
    .transform((text, ctx) => {
      const parsed = parse(text);
      if (typeof parsed !== 'string') return parsed;
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    });

const list = z.string().max(4_000).transform(splitList).optional();

// A local calendar day (the whole day in tz) or an instant with its offset.
export const rangeEnd = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

// Filters on the dimensions a query can group by; each takes a comma-separated list.
export const filterFields = {
  org: list,
  team: list,
  user: list,
  key: list,
  provider: list,
  model: list,
  tag: parsedText(parseTagFilters).optional(),
};

export const toFilters = (q: { [K in keyof typeof filterFields]?: z.output<(typeof filterFields)[K]> }): Filters => {
  const { tag, ...columns } = q;
  return { ...Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined)), ...(tag ? { tags: tag } : {}) };
};

const usageQuery = z.object({
  from: rangeEnd,
  to: rangeEnd,
  tz: timeZoneSchema,
  // department, cost_center and label:NAME too: usage charged to the user's, else their team's, as
  // they were when it was spent (src/analytics/chargeback-usage.ts).
  groupBy: parsedText(parseChargebackGrouping).default({ dimensions: [], bucket: null, chargeback: [] }),
  ...filterFields,
  department: list,
  cost_center: list,
  source: z.enum(['auto', 'events']).default('auto'),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
});

export const usageRoutes = [
  route({
    method: 'GET', path: '/usage', tag: 'usage', summary: 'Usage totals grouped by org, team, user, key, provider, model, tag:NAME, department, cost_center, label:NAME and hour/day/week/month in a time zone', permission: 'usage:read',
    query: usageQuery,
    async handle({ db, access, query }) {
      const { from, to, tz, groupBy, source, limit, department, cost_center, ...filters } = query;
      const { chargeback, ...grouping } = groupBy;
      const q = { from, to, tz, ...grouping, filters: toFilters(filters), source, limit };
      const visible = await access.visibility('usage:read');
      if (chargeback.length === 0 && !department && !cost_center) return queryUsage(db, visible, q);
      return queryChargebackUsage(db, visible, { ...q, chargeback, chargebackFilters: { ...(department ? { department } : {}), ...(cost_center ? { cost_center } : {}) } });
    },
  }),
];
