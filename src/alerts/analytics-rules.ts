// Projected budget exhaustion and usage anomalies as one alert rule: every org's analysis
// (src/analytics/) turned into findings with stable fingerprints, raised while they hold and
// cleared when a forecast no longer runs out. A finding's endsAt lapses it by itself (the period
// is over, or the anomalous day is a week old). Only the latest complete day's anomalies are
// reported, so an evaluator that takes over does not raise a week of old ones again.
import { orgs } from '../../drizzle/schema/index.js';
import { analyse } from '../analytics/analyse.js';
import { analyticsFindings, type AnalyticsFinding } from '../analytics/findings.js';
import type { BudgetRule } from '../budget/rules.js';
import type { Db } from '../db/database.js';
import type { AlertInput, AlertRule } from './source.js';

export function findingAlert(finding: AnalyticsFinding): AlertInput {
  const { scope } = finding;
  return {
    fingerprint: finding.fingerprint,
    source: finding.source,
    name: finding.name,
    severity: finding.severity,
    summary: finding.summary,
    orgId: finding.orgId,
    teamId: scope.type === 'team' ? scope.id : null,
    userId: scope.type === 'user' ? scope.id : null,
    figures: { ...finding.figures, scope: scope.type, scopeId: scope.id },
    endsAtMs: finding.endsAt === null ? null : Date.parse(finding.endsAt),
  };
}

export function analyticsRule(db: Db, configRules: readonly BudgetRule[]): AlertRule {
  return {
    name: 'analytics.findings',
    async evaluate(nowMs) {
      const results: Array<{ input: AlertInput; firing: boolean }> = [];
      for (const { id } of await db.select({ id: orgs.id }).from(orgs)) {
        const analysis = await analyse(db, id, { asOfMs: nowMs, forecast: true, anomalies: true, anomalyDays: 1, configRules });
        for (const finding of analyticsFindings(analysis)) results.push({ input: findingAlert(finding), firing: finding.firing });
      }
      return results;
    },
  };
}
