// One org's analysis as the report, the CLI and the admin API ask for it: budget forecasts,
// recent anomalies and recommendations, each section optional. Loads its inputs from the ledger
// (src/analytics/inputs.ts) and hands them to the pure analyses.
import type { BudgetRule } from '../budget/rules.js';
import type { Catalog } from '../config/catalog.js';
import type { Db } from '../db/database.js';
import { type AnomalyOptions, defaultAnomalyOptions, detectAnomalies, type ScopeAnomaly } from './anomalies.js';
import { addDays } from './days.js';
import { type BudgetForecast, forecastBudget } from './forecast.js';
import { type BudgetRuleRef, type FactsView, loadBudgetRules, loadBudgetSubjects, loadFactsView, loadRecommendationInput, loadTeamAncestors, scopeSeries, type ViewFor } from './inputs.js';
import { defaultRecommendationOptions, recommend, type Recommendation, type RecommendationOptions } from './recommendations.js';
import type { SeriesScope } from './scope-series.js';

export interface AnalyseOptions {
  readonly asOfMs?: number;
  // Zone of the anomaly days (budgets keep their own).
  readonly timeZone?: string;
  readonly lookbackDays?: number;
  // Days the recommendations' spend figures cover.
  readonly usageDays?: number;
  // Anomalies of this many most recent complete days are listed.
  readonly anomalyDays?: number;
  readonly forecast?: boolean;
  readonly anomalies?: boolean;
  readonly recommendations?: boolean;
  // For the model recommendations; without it they are left out.
  readonly catalog?: Catalog | undefined;
  // The config file's budget rules (defaults of every org).
  readonly configRules?: readonly BudgetRule[];
  readonly anomalyOptions?: AnomalyOptions;
  readonly recommendationOptions?: RecommendationOptions;
  readonly totalHorizonDays?: number;
  readonly maxSubjectsPerRule?: number;
}

// The rule it forecasts (its id as budgetId; the limit is in the forecast) and for whom.
export interface BudgetForecastRecord extends Pick<BudgetRuleRef, 'scope' | 'scopeId' | 'metric' | 'window' | 'timezone' | 'warnPct' | 'criticalPct'> {
  readonly budgetId: string | null;
  readonly subjectId: string;
  readonly forecast: BudgetForecast;
}

export interface Analysis {
  readonly orgId: string;
  readonly asOf: string;
  readonly timeZone: string;
  readonly lookbackDays: number;
  readonly forecasts?: readonly BudgetForecastRecord[];
  readonly anomalies?: readonly ScopeAnomaly[];
  readonly recommendations?: readonly Recommendation[];
}

const anomalyScopes: readonly SeriesScope[] = ['team', 'user', 'key', 'model'];

export async function analyse(db: Db, orgId: string, options: AnalyseOptions = {}): Promise<Analysis> {
  const asOfMs = options.asOfMs ?? Date.now();
  const timeZone = options.timeZone ?? 'UTC';
  const lookbackDays = options.lookbackDays ?? 90;
  const all = options.forecast === undefined && options.anomalies === undefined && options.recommendations === undefined;
  const want = { forecast: all || options.forecast === true, anomalies: all || options.anomalies === true, recommendations: all || options.recommendations === true };
  // The rollups are read once per time zone and metric (the analysis' own and each budget's) and
  // shared; the (user, key) pairs only where a user or key series is asked for.
  const ancestors = await loadTeamAncestors(db, orgId);
  const rules = want.forecast || want.recommendations ? await loadBudgetRules(db, orgId, options.configRules) : [];
  const needsUserKeys = (zone: string, metric: string) =>
    (zone === timeZone && metric === 'costMicros' && (want.anomalies || want.recommendations)) ||
    rules.some((r) => r.timezone === zone && r.metric === metric && (r.scope === 'user' || r.scope === 'key'));
  const views = new Map<string, Promise<FactsView>>();
  const viewFor: ViewFor = (zone, metric) => {
    const key = `${zone} ${metric}`;
    if (!views.has(key)) views.set(key, loadFactsView(db, orgId, { asOfMs, timeZone: zone, lookbackDays }, ancestors, metric, { userKeys: needsUserKeys(zone, metric) }));
    return views.get(key)!;
  };

  const subjects = await loadBudgetSubjects(db, rules, viewFor, { totalHorizonDays: options.totalHorizonDays ?? 30, maxSubjectsPerRule: options.maxSubjectsPerRule ?? 100 });
  const analysis: { -readonly [K in keyof Analysis]: Analysis[K] } = { orgId, asOf: new Date(asOfMs).toISOString(), timeZone, lookbackDays };

  if (want.forecast) {
    analysis.forecasts = subjects.map((s) => ({
      budgetId: s.rule.id, scope: s.rule.scope, scopeId: s.rule.scopeId, subjectId: s.subjectId, metric: s.rule.metric, window: s.rule.window,
      timezone: s.rule.timezone, warnPct: s.rule.warnPct, criticalPct: s.rule.criticalPct,
      forecast: forecastBudget({ history: s.history, firstForecastDay: s.firstForecastDay, horizonDays: s.horizonDays, firstDayShareAhead: s.firstDayShareAhead, usedAmount: s.usedAmount, limitAmount: s.rule.limit }),
    }));
  }
  if (want.anomalies) {
    const view = await viewFor(timeZone, 'costMicros');
    const since = addDays(view.range.today, -(options.anomalyDays ?? 7));
    analysis.anomalies = detectAnomalies(scopeSeries(view, anomalyScopes), options.anomalyOptions ?? defaultAnomalyOptions, since);
  }
  if (want.recommendations) {
    const input = await loadRecommendationInput(db, await viewFor(timeZone, 'costMicros'), asOfMs, Math.min(options.usageDays ?? 30, lookbackDays), rules, subjects);
    analysis.recommendations = recommend(input, options.catalog, options.recommendationOptions ?? defaultRecommendationOptions);
  }
  return analysis;
}
