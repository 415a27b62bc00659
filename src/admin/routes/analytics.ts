import { z } from 'zod';
import { analyse } from '../../analytics/analyse.js';
import { analyseOptionsFrom, analyticsSchema } from '../../analytics/config.js';
import { timeZoneSchema } from '../../analytics/time-zone.js';
import { visibleAnalysis } from '../../analytics/visible.js';
import { route } from '../route.js';
import { id, queryBool } from '../schemas.js';

const analyticsQuery = z.object({
  orgId: id,
  // Zone of the anomaly days; budgets are forecast in their own zones.
  tz: timeZoneSchema,
  // None of the three: all of them.
  forecast: queryBool.optional(),
  anomalies: queryBool.optional(),
  recommendations: queryBool.optional(),
  // Default: the config's analytics.lookbackDays.
  lookbackDays: z.coerce.number().int().min(14).max(366).optional(),
  anomalyDays: z.coerce.number().int().min(1).max(90).default(7),
});

export const analyticsRoutes = [
  route({
    method: 'GET', path: '/analytics', tag: 'usage', summary: "An org's budget forecasts (P10/P50/P90, run-out day), recent spend anomalies and recommendations, limited to the caller's teams or own usage", permission: 'usage:read',
    query: analyticsQuery,
    async handle({ db, access, settings, query }) {
      await access.assertOrg('usage:read', query.orgId);
      const analysis = await analyse(db, query.orgId, {
        ...analyseOptionsFrom(settings.analytics?.config ?? analyticsSchema.parse(undefined)),
        ...(query.lookbackDays === undefined ? {} : { lookbackDays: query.lookbackDays }),
        timeZone: query.tz,
        anomalyDays: query.anomalyDays,
        ...(query.forecast === undefined ? {} : { forecast: query.forecast }),
        ...(query.anomalies === undefined ? {} : { anomalies: query.anomalies }),
        ...(query.recommendations === undefined ? {} : { recommendations: query.recommendations }),
        catalog: settings.analytics?.catalog,
        configRules: settings.analytics?.configRules ?? [],
      });
      // A manager sees their teams' lines, a developer their own (src/analytics/visible.ts).
      return visibleAnalysis(db, analysis, await access.visibility('usage:read'));
    },
  }),
];
