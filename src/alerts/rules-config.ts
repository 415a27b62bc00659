// Options of the periodic alert rules (config key `alertRules`): how often the one evaluator runs
// and how long its lock lasts, the health rules' thresholds and windows, how often analytics
// findings are refreshed, and the limits on personal thresholds. Defaults are meant to be quiet on
// a healthy gateway and loud on a broken one.
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const fraction = z.number().gt(0).max(1);

// The health rules' thresholds and window, and the analytics rule's cadence: also the kinds whose
// settings the admin API overrides per rule (rule-settings.ts), so both read this one definition.
export const healthRuleSchema = z.object({
  enabled: z.boolean().default(true),
  // Rates, latency and spend are measured over this trailing window.
  windowMs: positiveInt.default(300_000),
  // Fewer upstream answers than this in the window: no verdict on a provider's error rate or latency.
  minRequests: positiveInt.default(20),
  // Share of a provider's answers with status >= 500.
  errorRate: fraction.default(0.1),
  // Time to first byte, p99 over the window, per provider.
  p99LatencyMs: positiveInt.default(10_000),
  // Age of the oldest usage event not yet in the ledger.
  flushLagMs: positiveInt.default(60_000),
  // Queued prompt counts as a share of tokens.poolMaxQueue, on any replica.
  tokenizerQueueRatio: fraction.default(0.8),
  // 429s answered in the window: at least this many and at least this share of all answers.
  rateLimitedMin: positiveInt.default(50),
  rateLimitedShare: fraction.default(0.25),
  // Cost of all requests in the window; there is no level that fits every gateway, so off until set.
  spendMicrosPerWindow: positiveInt.optional(),
});

export const analyticsRuleSchema = z.object({
  enabled: z.boolean().default(true),
  // Forecasts and anomalies change with the hourly rollups: no need to recompute them often.
  intervalMs: positiveInt.default(10 * 60_000),
});

export const alertRulesSchema = z
  .object({
    // How often the evaluator (one replica at a time) runs the rules.
    evaluateIntervalMs: positiveInt.default(5_000),
    // The evaluator lock's lifetime; renewed every evaluation, so another replica takes over
    // within this after the holder stops. Must exceed evaluateIntervalMs.
    leaderTtlMs: positiveInt.default(15_000),
    health: healthRuleSchema.prefault({}),
    analytics: analyticsRuleSchema.prefault({}),
    personal: z
      .object({
        // Thresholds one user may set, and how many users' budgets one evaluation reads.
        maxThresholds: positiveInt.max(10).default(5),
        maxUsersPerEvaluation: positiveInt.default(10_000),
      })
      .prefault({}),
  })
  .prefault({})
  .refine((c) => c.leaderTtlMs > c.evaluateIntervalMs, { message: 'leaderTtlMs must exceed evaluateIntervalMs' });

export type AlertRulesConfig = z.output<typeof alertRulesSchema>;
