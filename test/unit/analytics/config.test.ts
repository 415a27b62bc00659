import { describe, expect, it } from 'vitest';
import { defaultAnomalyOptions } from '../../../src/analytics/anomalies.js';
import { analyseOptionsFrom, analyticsSchema } from '../../../src/analytics/config.js';
import { defaultRecommendationOptions } from '../../../src/analytics/recommendations.js';

describe('analytics config', () => {
  it('gives the documented defaults when the section is absent', () => {
    expect(analyseOptionsFrom(analyticsSchema.parse(undefined))).toEqual({ lookbackDays: 90, anomalyOptions: defaultAnomalyOptions, recommendationOptions: defaultRecommendationOptions });
  });

  it('carries impact floors and recommendation thresholds from the config into the analyses', () => {
    const options = analyseOptionsFrom(analyticsSchema.parse({ lookbackDays: 60, anomalies: { minExcessMicros: 5_000_000, minExcessPct: 20 }, recommendations: { idleDays: 14 } }));
    expect(options.lookbackDays).toBe(60);
    expect(options.anomalyOptions).toEqual({ ...defaultAnomalyOptions, minExcessAmount: 5_000_000, minExcessPct: 20 });
    expect(options.recommendationOptions).toEqual({ ...defaultRecommendationOptions, idleDays: 14 });
  });

  it('refuses a look-back too short for the damped trend, naming the path', () => {
    const parsed = analyticsSchema.safeParse({ lookbackDays: 7 });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path).toEqual(['lookbackDays']);
  });
});
