// Options of the analyses (config key `analytics`): how far back they look, when a day counts as
// an anomaly, and the thresholds behind each recommendation. Defaults are the ones the unit tests
// and docs/DESIGN.md describe.
import { z } from 'zod';
import type { AnalyseOptions } from './analyse.js';
import { defaultAnomalyOptions } from './anomalies.js';
import { defaultRecommendationOptions } from './recommendations.js';

const count = z.number().int().nonnegative();
const percent = z.number().int().min(1).max(100);
const a = defaultAnomalyOptions;
const r = defaultRecommendationOptions;

export const analyticsSchema = z
  .object({
    // Complete days of history read for forecasts, anomalies and budget periods.
    lookbackDays: z.number().int().min(14).max(366).default(90),
    anomalies: z
      .object({
        minHistoryDays: z.number().int().min(2).default(a.minHistoryDays),
        minZScore: z.number().positive().default(a.minZScore),
        // Impact floors: a day must exceed its baseline by this much (micro-USD) and this share.
        minExcessMicros: count.default(a.minExcessAmount),
        minExcessPct: count.default(a.minExcessPct),
      })
      .prefault({}),
    recommendations: z
      .object({
        idleDays: z.number().int().positive().default(r.idleDays),
        nearLimitPeriods: z.number().int().positive().default(r.nearLimitPeriods),
        neverApproachedPct: percent.default(r.neverApproachedPct),
        minPeriods: z.number().int().positive().default(r.minPeriods),
        minModelCostMicros: count.default(r.minModelCostMicros),
        lowCacheSharePct: percent.default(r.lowCacheSharePct),
        targetCacheSharePct: percent.default(r.targetCacheSharePct),
        uncappedSharePct: percent.default(r.uncappedSharePct),
      })
      .prefault({}),
  })
  .prefault({});

export type AnalyticsConfig = z.output<typeof analyticsSchema>;

export function analyseOptionsFrom(config: AnalyticsConfig): Pick<AnalyseOptions, 'lookbackDays' | 'anomalyOptions' | 'recommendationOptions'> {
  const { minExcessMicros, ...anomalies } = config.anomalies;
  return {
    lookbackDays: config.lookbackDays,
    anomalyOptions: { ...defaultAnomalyOptions, ...anomalies, minExcessAmount: minExcessMicros },
    recommendationOptions: { ...defaultRecommendationOptions, ...config.recommendations },
  };
}
