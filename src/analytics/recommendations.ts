// What an org could change, each with the figures behind it: one pure function per kind of
// recommendation over one input shape (RecommendationInput, filled from the ledger and the control
// plane by src/analytics/inputs.ts or by hand), and `recommend` to run them all. Money is integer
// micro-USD, estimates say their assumption.
import { type Catalog, type CatalogModel, meteredByTokens } from '../config/catalog.js';
import { costMicros } from '../pricing/cost.js';

export interface KeyFacts {
  readonly id: string;
  readonly userId: string;
  readonly name: string | null;
  readonly createdAtMs: number;
  readonly lastUsedAtMs: number | null;
  // Revoked or expired: not a live key.
  readonly live: boolean;
  readonly costMicros: number;
}

export interface UserFacts {
  readonly id: string;
  readonly name: string;
  readonly teamId: string | null;
  readonly active: boolean;
  readonly costMicros: number;
}

export interface TeamFacts {
  readonly id: string;
  readonly parentId: string | null;
}

export interface BudgetFacts {
  // Null for rules from the config file.
  readonly id: string | null;
  readonly scope: 'key' | 'user' | 'team' | 'org';
  readonly scopeId: string;
  readonly metric: 'tokens' | 'costMicros' | 'requests';
  readonly window: string;
  readonly limit: number;
  readonly warnPct: number;
  // What each subject (the scope id, or each member for a '*' rule) used in each complete period
  // of the look-back; empty for windows the daily ledger cannot measure (minute, hour, session, total).
  readonly periods: readonly { readonly subjectId: string; readonly usedAmount: number }[];
}

export interface ModelUsageFacts {
  // As the ledger records it: a catalog name or alias.
  readonly model: string;
  readonly requests: number;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly completionTokens: number;
  readonly costMicros: number;
  // Requests sent without max_tokens (so they reserved the catalog's cap) and the output tokens
  // they used; undefined when unknown.
  readonly uncappedRequests?: number | undefined;
  readonly uncappedCompletionTokens?: number | undefined;
}

export interface RecommendationInput {
  readonly asOfMs: number;
  // The period the cost and usage figures cover.
  readonly lookbackDays: number;
  readonly keys: readonly KeyFacts[];
  readonly users: readonly UserFacts[];
  readonly teams: readonly TeamFacts[];
  readonly budgets: readonly BudgetFacts[];
  readonly models: readonly ModelUsageFacts[];
}

export type RecommendationKind =
  | 'idle_key'
  | 'unbudgeted_key'
  | 'unbudgeted_user'
  | 'user_near_limit'
  | 'budget_never_approached'
  | 'cheaper_model'
  | 'low_cache_share'
  | 'uncapped_requests';

export interface Recommendation {
  readonly kind: RecommendationKind;
  readonly subject: { readonly type: 'key' | 'user' | 'budget' | 'model'; readonly id: string; readonly name?: string | undefined };
  readonly message: string;
  readonly figures: Readonly<Record<string, number | string | null>>;
  // Estimated saving over the look-back, when the recommendation has one.
  readonly savingsMicros?: number;
  readonly assumption?: string;
}

export interface RecommendationOptions {
  readonly idleDays: number;
  // A subject is near its limit in a period when it used at least this share of it (default: the
  // budget's own warnPct, when this is null)…
  readonly nearLimitPct: number | null;
  // …and "repeatedly" means in at least this many periods.
  readonly nearLimitPeriods: number;
  // Never approached: no subject passed this share of the limit in any of at least minPeriods.
  readonly neverApproachedPct: number;
  readonly minPeriods: number;
  // Below this much spend over the look-back a model's saving is not worth a line.
  readonly minModelCostMicros: number;
  readonly lowCacheSharePct: number;
  readonly minPromptTokensForCache: number;
  // The cached share a cache-friendly prompt layout is assumed to reach.
  readonly targetCacheSharePct: number;
  readonly uncappedSharePct: number;
}

export const defaultRecommendationOptions: RecommendationOptions = Object.freeze({
  idleDays: 30,
  nearLimitPct: null,
  nearLimitPeriods: 3,
  neverApproachedPct: 50,
  minPeriods: 3,
  minModelCostMicros: 10_000_000,
  lowCacheSharePct: 10,
  minPromptTokensForCache: 1_000_000,
  targetCacheSharePct: 50,
  uncappedSharePct: 20,
});

const dayMs = 86_400_000;
const dollars = (micros: number) => `$${(micros / 1_000_000).toFixed(2)}`;
const pct = (part: number, whole: number) => (whole > 0 ? Math.round((part * 1000) / whole) / 10 : 0);

export function idleKeys(input: RecommendationInput, options = defaultRecommendationOptions): Recommendation[] {
  return input.keys
    .filter((k) => k.live)
    .map((k) => ({ key: k, idleDays: Math.floor((input.asOfMs - (k.lastUsedAtMs ?? k.createdAtMs)) / dayMs) }))
    .filter(({ idleDays }) => idleDays >= options.idleDays)
    .map(({ key, idleDays }) => ({
      kind: 'idle_key' as const,
      subject: { type: 'key' as const, id: key.id, name: key.name ?? undefined },
      message: `Key ${key.name ?? key.id} has not been used for ${idleDays} days${key.lastUsedAtMs === null ? ' (never used)' : ''}: revoke it.`,
      figures: {
        idleDays,
        lastUsedAt: key.lastUsedAtMs === null ? null : new Date(key.lastUsedAtMs).toISOString(),
        createdAt: new Date(key.createdAtMs).toISOString(),
      },
    }));
}

// The team and every team above it.
function teamChain(teamId: string | null, teams: readonly TeamFacts[]): string[] {
  const parent = new Map(teams.map((t) => [t.id, t.parentId]));
  const chain: string[] = [];
  for (let id = teamId; id !== null && id !== undefined && !chain.includes(id); id = parent.get(id) ?? null) chain.push(id);
  return chain;
}

function covered(budgets: readonly BudgetFacts[], scope: BudgetFacts['scope'], ids: readonly string[]): boolean {
  return budgets.some((b) => b.scope === scope && (b.scopeId === '*' || ids.includes(b.scopeId)));
}

export function unbudgeted(input: RecommendationInput): Recommendation[] {
  const { budgets } = input;
  if (budgets.some((b) => b.scope === 'org')) return [];
  const users = new Map(input.users.map((u) => [u.id, u]));
  const userCovered = (u: UserFacts) => covered(budgets, 'user', [u.id]) || covered(budgets, 'team', teamChain(u.teamId, input.teams));
  const spend = (micros: number) => `${dollars(micros)} in the last ${input.lookbackDays} days`;
  const keys = input.keys
    .filter((k) => k.live && !covered(budgets, 'key', [k.id]))
    .filter((k) => {
      const user = users.get(k.userId);
      return !user || !userCovered(user);
    })
    .map((k) => ({
      kind: 'unbudgeted_key' as const,
      subject: { type: 'key' as const, id: k.id, name: k.name ?? undefined },
      message: `No budget applies to key ${k.name ?? k.id} (${spend(k.costMicros)}): nothing bounds what it can spend.`,
      figures: { costMicros: k.costMicros, lookbackDays: input.lookbackDays },
    }));
  const unbudgetedUsers = input.users
    .filter((u) => u.active && !userCovered(u) && !input.keys.some((k) => k.userId === u.id && covered(budgets, 'key', [k.id])))
    .map((u) => ({
      kind: 'unbudgeted_user' as const,
      subject: { type: 'user' as const, id: u.id, name: u.name },
      message: `No budget applies to user ${u.name} (${spend(u.costMicros)}): set a user or team budget.`,
      figures: { costMicros: u.costMicros, lookbackDays: input.lookbackDays },
    }));
  return [...keys, ...unbudgetedUsers].sort((a, b) => b.figures.costMicros - a.figures.costMicros);
}

const budgetName = (b: BudgetFacts) => `${b.scope} ${b.scopeId} ${b.metric}/${b.window}`;
const budgetSubject = (b: BudgetFacts) => ({ type: 'budget' as const, id: b.id ?? `config:${budgetName(b)}`, name: budgetName(b) });

function periodsBySubject(b: BudgetFacts): Map<string, number[]> {
  const by = new Map<string, number[]>();
  for (const p of b.periods) by.set(p.subjectId, [...(by.get(p.subjectId) ?? []), p.usedAmount]);
  return by;
}

export function usersNearLimits(input: RecommendationInput, options = defaultRecommendationOptions): Recommendation[] {
  const names = new Map(input.users.map((u) => [u.id, u.name]));
  return input.budgets
    .filter((b) => b.scope === 'user' && b.limit > 0)
    .flatMap((b) => {
      const nearPct = options.nearLimitPct ?? b.warnPct;
      return [...periodsBySubject(b)].flatMap(([userId, used]) => {
        const near = used.filter((u) => u * 100 >= nearPct * b.limit).length;
        if (near < options.nearLimitPeriods) return [];
        const peak = Math.max(...used);
        return [{
          kind: 'user_near_limit' as const,
          subject: { type: 'user' as const, id: userId, name: names.get(userId) },
          message: `User ${names.get(userId) ?? userId} reached ${nearPct}% of their ${b.metric}/${b.window} budget in ${near} of ${used.length} periods: raise it or look at why.`,
          figures: { budget: budgetName(b), limit: b.limit, nearPct, periodsNear: near, periodsObserved: used.length, peakUsedAmount: peak, peakPct: pct(peak, b.limit) },
        }];
      });
    });
}

export function budgetsNeverApproached(input: RecommendationInput, options = defaultRecommendationOptions): Recommendation[] {
  return input.budgets.flatMap((b) => {
    const bySubject = periodsBySubject(b);
    const observed = Math.max(0, ...[...bySubject.values()].map((u) => u.length));
    if (b.limit <= 0 || observed < options.minPeriods) return [];
    const peak = Math.max(0, ...b.periods.map((p) => p.usedAmount));
    if (peak * 100 >= options.neverApproachedPct * b.limit) return [];
    return [{
      kind: 'budget_never_approached' as const,
      subject: budgetSubject(b),
      message: `Budget ${budgetName(b)} never passed ${pct(peak, b.limit)}% of its limit in ${observed} periods: a tighter limit would catch a runaway sooner.`,
      figures: { limit: b.limit, peakUsedAmount: peak, peakPct: pct(peak, b.limit), periodsObserved: observed, subjects: bySubject.size },
    }];
  });
}

const isEmbedding = (m: CatalogModel) => m.maxOutputTokens <= 1;

// Models that can take every request `model` takes: same provider and kind of endpoint
// (embeddings or generation; never an image or audio model, which the token routes refuse), same
// reasoning support, no smaller context window or output cap.
export function siblingsOf(model: CatalogModel, catalog: Catalog): CatalogModel[] {
  return catalog
    .list()
    .filter((m) => m !== model && m.provider === model.provider && meteredByTokens(m) && m.kind === model.kind && isEmbedding(m) === isEmbedding(model))
    .filter((m) => Boolean(m.reasoning) === Boolean(model.reasoning) && m.contextWindow >= model.contextWindow && m.maxOutputTokens >= model.maxOutputTokens);
}

const listCostMicros = (u: ModelUsageFacts, m: CatalogModel) =>
  costMicros({ promptTokens: u.promptTokens, cachedTokens: u.cachedTokens, cacheWriteTokens: 0, completionTokens: u.completionTokens, reasoningTokens: 0 }, m.price);

export function cheaperModels(input: RecommendationInput, catalog: Catalog, options = defaultRecommendationOptions): Recommendation[] {
  return input.models.flatMap((u) => {
    const model = catalog.resolve(u.model);
    if (!model || u.costMicros < options.minModelCostMicros) return [];
    const currentMicros = listCostMicros(u, model);
    // The nearest cheaper sibling: the smallest step down, most likely to do the same job.
    const [nearest] = siblingsOf(model, catalog)
      .map((m) => ({ m, micros: listCostMicros(u, m) }))
      .filter((c) => c.micros < currentMicros)
      .sort((a, b) => b.micros - a.micros);
    if (!nearest) return [];
    const savingsMicros = currentMicros - nearest.micros;
    return [{
      kind: 'cheaper_model' as const,
      subject: { type: 'model' as const, id: model.name },
      message: `${model.name} cost ${dollars(u.costMicros)} in ${input.lookbackDays} days; the same tokens on ${nearest.m.name} would cost ${dollars(nearest.micros)} (save ${dollars(savingsMicros)}) where its quality is enough.`,
      figures: { model: model.name, sibling: nearest.m.name, requests: u.requests, recordedCostMicros: u.costMicros, listCostMicros: currentMicros, siblingCostMicros: nearest.micros },
      savingsMicros,
      assumption: `the same requests with the same token counts at ${nearest.m.name}'s list prices (cache writes priced as plain input); answer quality is not assessed`,
    }];
  });
}

export function lowCacheShare(input: RecommendationInput, catalog: Catalog, options = defaultRecommendationOptions): Recommendation[] {
  return input.models.flatMap((u) => {
    const model = catalog.resolve(u.model);
    if (!model || model.price.cachedInputPerMTok >= model.price.inputPerMTok || u.promptTokens < options.minPromptTokensForCache) return [];
    const sharePct = pct(u.cachedTokens, u.promptTokens);
    if (sharePct >= options.lowCacheSharePct) return [];
    const extraCachedTokens = Math.max(0, Math.floor((u.promptTokens * options.targetCacheSharePct) / 100) - u.cachedTokens);
    const savingsMicros = Math.floor((extraCachedTokens * (model.price.inputPerMTok - model.price.cachedInputPerMTok)) / 1_000_000);
    return [{
      kind: 'low_cache_share' as const,
      subject: { type: 'model' as const, id: model.name },
      message: `Only ${sharePct}% of ${model.name}'s ${u.promptTokens} input tokens were cache reads, which cost ${pct(model.price.cachedInputPerMTok, model.price.inputPerMTok)}% of plain input: put the stable part of prompts first${model.provider === 'anthropic' ? ' and mark it with cache_control' : ''}.`,
      figures: { model: model.name, promptTokens: u.promptTokens, cachedTokens: u.cachedTokens, cachedSharePct: sharePct, inputPerMTokMicros: model.price.inputPerMTok, cachedInputPerMTokMicros: model.price.cachedInputPerMTok },
      savingsMicros,
      assumption: `${options.targetCacheSharePct}% of input tokens served from the cache (cache writes not counted)`,
    }];
  });
}

export function uncappedRequests(input: RecommendationInput, catalog: Catalog, options = defaultRecommendationOptions): Recommendation[] {
  return input.models.flatMap((u) => {
    const model = catalog.resolve(u.model);
    const uncapped = u.uncappedRequests;
    if (!model || uncapped === undefined || u.requests === 0 || uncapped * 100 < options.uncappedSharePct * u.requests) return [];
    // What those requests used: their own output when the ledger has it, else the model's mean.
    const usedOutputTokens = u.uncappedCompletionTokens ?? Math.round((u.completionTokens * uncapped) / u.requests);
    const reservedOutputTokens = uncapped * model.maxOutputTokens;
    const meanCompletionTokens = Math.round(usedOutputTokens / uncapped);
    // What each such request holds back from its budgets until it settles.
    const excessTokens = Math.max(0, model.maxOutputTokens - meanCompletionTokens);
    const heldMicrosPerRequest = Math.ceil((excessTokens * model.price.outputPerMTok) / 1_000_000);
    return [{
      kind: 'uncapped_requests' as const,
      subject: { type: 'model' as const, id: model.name },
      message: `${uncapped} of ${u.requests} ${model.name} requests (${pct(uncapped, u.requests)}%) sent no max_tokens, so each reserved the catalog cap of ${model.maxOutputTokens} output tokens (about ${dollars(heldMicrosPerRequest)} more than it used) against budgets: ${reservedOutputTokens} reserved, ${usedOutputTokens} used (${pct(usedOutputTokens, reservedOutputTokens)}%). Set max_tokens to free that headroom.`,
      figures: {
        model: model.name, requests: u.requests, uncappedRequests: uncapped, uncappedSharePct: pct(uncapped, u.requests), catalogMaxOutputTokens: model.maxOutputTokens,
        reservedOutputTokens, usedOutputTokens, usedSharePct: pct(usedOutputTokens, reservedOutputTokens), meanCompletionTokens, heldMicrosPerRequest,
      },
      assumption: 'one choice per request, each reserving the whole catalog cap (a budget that clamped the reservation held less)',
    }];
  });
}

const kindOrder: readonly RecommendationKind[] = ['cheaper_model', 'low_cache_share', 'user_near_limit', 'unbudgeted_key', 'unbudgeted_user', 'idle_key', 'budget_never_approached', 'uncapped_requests'];

// Every recommendation: savings first (largest first), then the rest by kind.
export function recommend(input: RecommendationInput, catalog: Catalog | undefined, options = defaultRecommendationOptions): Recommendation[] {
  const all = [
    ...idleKeys(input, options),
    ...unbudgeted(input),
    ...usersNearLimits(input, options),
    ...budgetsNeverApproached(input, options),
    ...(catalog ? [...cheaperModels(input, catalog, options), ...lowCacheShare(input, catalog, options), ...uncappedRequests(input, catalog, options)] : []),
  ];
  return all.sort((a, b) => (b.savingsMicros ?? -1) - (a.savingsMicros ?? -1) || kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind));
}
