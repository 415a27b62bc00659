import { describe, expect, it } from 'vitest';
import {
  budgetsNeverApproached,
  cheaperModels,
  defaultRecommendationOptions,
  idleKeys,
  lowCacheShare,
  recommend,
  type BudgetFacts,
  type RecommendationInput,
  siblingsOf,
  unbudgeted,
  uncappedRequests,
  usersNearLimits,
} from '../../../src/analytics/recommendations.js';
import { buildCatalog } from '../../../src/config/catalog.js';
import { modelSchema } from '../../../src/config/schema.js';
import { loadConfig } from '../../../src/config/load.js';

const dayMs = 86_400_000;
const asOfMs = Date.UTC(2026, 11, 1);
const model = (fields: Record<string, unknown>) => modelSchema.parse({ provider: 'openai', ...fields });
// Prices in USD per 1M tokens, as the catalog file writes them.
const catalog = buildCatalog(
  {
    big: model({ contextWindow: 200_000, maxOutputTokens: 16_000, price: { inputPerMTok: 10, cachedInputPerMTok: 1, outputPerMTok: 30 } }),
    mid: model({ contextWindow: 200_000, maxOutputTokens: 16_000, price: { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 } }),
    small: model({ contextWindow: 200_000, maxOutputTokens: 16_000, price: { inputPerMTok: 0.2, outputPerMTok: 0.8 } }),
    'short-context': model({ contextWindow: 16_000, maxOutputTokens: 16_000, price: { inputPerMTok: 0.1, outputPerMTok: 0.1 } }),
    thinker: model({ reasoning: true, contextWindow: 200_000, maxOutputTokens: 16_000, price: { inputPerMTok: 1, outputPerMTok: 1 } }),
    embed: model({ maxOutputTokens: 1, price: { inputPerMTok: 0.02, outputPerMTok: 0 } }),
    other: model({ provider: 'anthropic', contextWindow: 200_000, maxOutputTokens: 16_000, price: { inputPerMTok: 0.01, outputPerMTok: 0.01 } }),
  },
  { 'big-2026': 'big' },
  new Set(['openai', 'anthropic']),
);

const base: RecommendationInput = { asOfMs, lookbackDays: 30, keys: [], users: [], teams: [], budgets: [], models: [] };
const key = (id: string, fields: Partial<RecommendationInput['keys'][number]> = {}) => ({ id, userId: 'usr_a', name: id, createdAtMs: asOfMs - 100 * dayMs, lastUsedAtMs: asOfMs - dayMs, live: true, costMicros: 0, ...fields });
const budget = (fields: Partial<BudgetFacts>): BudgetFacts => ({ id: 'bud_1', scope: 'user', scopeId: 'usr_a', metric: 'costMicros', window: 'day', limit: 1000, warnPct: 80, periods: [], ...fields });
const periods = (subjectId: string, used: number[]) => used.map((usedAmount) => ({ subjectId, usedAmount }));

describe('idle keys', () => {
  it('names live keys unused for 30 days or more, and never-used keys by their age', () => {
    const input = {
      ...base,
      keys: [
        key('fresh'),
        key('idle', { lastUsedAtMs: asOfMs - 45 * dayMs }),
        key('never', { lastUsedAtMs: null, createdAtMs: asOfMs - 31 * dayMs }),
        key('new-unused', { lastUsedAtMs: null, createdAtMs: asOfMs - 2 * dayMs }),
        key('revoked', { lastUsedAtMs: asOfMs - 90 * dayMs, live: false }),
      ],
    };
    const found = idleKeys(input);
    expect(found.map((r) => [r.subject.id, r.figures.idleDays])).toEqual([['idle', 45], ['never', 31]]);
    expect(found[1]).toMatchObject({ kind: 'idle_key', figures: { lastUsedAt: null } });
  });
});

describe('keys and users with no budget', () => {
  const input: RecommendationInput = {
    ...base,
    teams: [{ id: 'team_top', parentId: null }, { id: 'team_sub', parentId: 'team_top' }, { id: 'team_free', parentId: null }],
    users: [
      { id: 'usr_sub', name: 'sub', teamId: 'team_sub', active: true, costMicros: 5 },
      { id: 'usr_free', name: 'free', teamId: 'team_free', active: true, costMicros: 9_000_000 },
      { id: 'usr_keyed', name: 'keyed', teamId: null, active: true, costMicros: 1 },
    ],
    keys: [key('k_sub', { userId: 'usr_sub' }), key('k_free', { userId: 'usr_free', costMicros: 9_000_000 }), key('k_keyed', { userId: 'usr_keyed' }), key('k_keyed2', { userId: 'usr_keyed', costMicros: 2 })],
    budgets: [budget({ scope: 'team', scopeId: 'team_top' }), budget({ scope: 'key', scopeId: 'k_keyed' })],
  };

  it('counts a budget on any team above the user and a budget on one of their keys', () => {
    const found = unbudgeted(input);
    expect(found.map((r) => [r.kind, r.subject.id])).toEqual([['unbudgeted_key', 'k_free'], ['unbudgeted_user', 'usr_free'], ['unbudgeted_key', 'k_keyed2']]);
    expect(found[0]).toMatchObject({ figures: { costMicros: 9_000_000, lookbackDays: 30 } });
  });

  it('finds nothing when an org-wide or every-user rule exists', () => {
    expect(unbudgeted({ ...input, budgets: [budget({ scope: 'org', scopeId: 'org_a' })] })).toEqual([]);
    expect(unbudgeted({ ...input, budgets: [budget({ scope: 'user', scopeId: '*' })] })).toEqual([]);
  });
});

describe('users repeatedly near their limits', () => {
  it('names a user at or above the warn share in three or more periods, with the counts', () => {
    const input = {
      ...base,
      users: [{ id: 'usr_a', name: 'alice', teamId: null, active: true, costMicros: 0 }],
      budgets: [budget({ scopeId: '*', periods: [...periods('usr_a', [800, 950, 100, 1000, 200]), ...periods('usr_b', [800, 900, 10])] })],
    };
    const found = usersNearLimits(input);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ kind: 'user_near_limit', subject: { id: 'usr_a', name: 'alice' }, figures: { periodsNear: 3, periodsObserved: 5, peakUsedAmount: 1000, peakPct: 100, nearPct: 80 } });
    expect(usersNearLimits(input, { ...defaultRecommendationOptions, nearLimitPct: 90 })).toEqual([]);
  });
});

describe('budgets never approached', () => {
  it('names a budget whose every subject stayed under half its limit for three periods or more', () => {
    const low = budget({ id: 'bud_low', periods: periods('usr_a', [100, 490, 300]) });
    const used = budget({ id: 'bud_used', periods: periods('usr_a', [100, 500, 300]) });
    const young = budget({ id: 'bud_young', periods: periods('usr_a', [1, 1]) });
    const found = budgetsNeverApproached({ ...base, budgets: [low, used, young] });
    expect(found.map((r) => r.subject.id)).toEqual(['bud_low']);
    expect(found[0]!.figures).toEqual({ limit: 1000, peakUsedAmount: 490, peakPct: 49, periodsObserved: 3, subjects: 1 });
  });
});

describe('cheaper sibling models', () => {
  it('takes siblings that serve every request the model serves: same provider and endpoint kind, reasoning alike, no smaller context', () => {
    expect(siblingsOf(catalog.resolve('big')!, catalog).map((m) => m.name)).toEqual(['mid', 'small']);
    expect(siblingsOf(catalog.resolve('embed')!, catalog)).toEqual([]);
  });

  it('prices the same tokens on the nearest cheaper sibling and states the assumption', () => {
    // 1M input (100k cached) and 100k output: big 9 + 0.1 + 3 = $12.10; mid 1.8 + 0.05 + 0.8 = $2.65.
    const usage = { model: 'big-2026', requests: 500, promptTokens: 1_000_000, cachedTokens: 100_000, completionTokens: 100_000, costMicros: 12_100_000 };
    const [found] = cheaperModels({ ...base, models: [usage] }, catalog);
    expect(found).toMatchObject({
      kind: 'cheaper_model',
      subject: { id: 'big' },
      figures: { sibling: 'mid', listCostMicros: 12_100_000, siblingCostMicros: 2_650_000 },
      savingsMicros: 9_450_000,
    });
    expect(found!.assumption).toContain('same token counts');
  });

  it('says nothing for a model below the spend floor or with no cheaper sibling', () => {
    const usage = { model: 'big', requests: 1, promptTokens: 1000, cachedTokens: 0, completionTokens: 100, costMicros: 13_000 };
    expect(cheaperModels({ ...base, models: [usage] }, catalog)).toEqual([]);
    expect(cheaperModels({ ...base, models: [{ ...usage, model: 'small', costMicros: 50_000_000 }] }, catalog)).toEqual([]);
  });

  it('finds gpt-4.1 as the nearest cheaper sibling of gpt-4o in the shipped catalog', () => {
    const shipped = loadConfig({ env: {} }).catalog;
    const usage = { model: 'gpt-4o', requests: 1000, promptTokens: 10_000_000, cachedTokens: 0, completionTokens: 1_000_000, costMicros: 35_000_000 };
    expect(cheaperModels({ ...base, models: [usage] }, shipped)[0]).toMatchObject({ figures: { sibling: 'gpt-4.1', siblingCostMicros: 28_000_000 }, savingsMicros: 7_000_000 });
  });
});

describe('low cached-token share', () => {
  it('names a model that prices cache reads when under 10% of its input was cached, with the saving at 50%', () => {
    const usage = { model: 'big', requests: 100, promptTokens: 10_000_000, cachedTokens: 500_000, completionTokens: 0, costMicros: 95_500_000 };
    const [found] = lowCacheShare({ ...base, models: [usage] }, catalog);
    // 4.5M more cached tokens at $9 less per 1M.
    expect(found).toMatchObject({ kind: 'low_cache_share', figures: { cachedSharePct: 5, promptTokens: 10_000_000 }, savingsMicros: 40_500_000 });
  });

  it('skips models without a cache price, small volumes and good shares', () => {
    const usage = { model: 'small', requests: 100, promptTokens: 10_000_000, cachedTokens: 0, completionTokens: 0, costMicros: 2_000_000 };
    expect(lowCacheShare({ ...base, models: [usage, { ...usage, model: 'big', promptTokens: 10_000 }, { ...usage, model: 'mid', cachedTokens: 2_000_000 }] }, catalog)).toEqual([]);
  });
});

describe('requests without max_tokens', () => {
  it('names a model where a fifth or more of requests reserved the catalog cap, with what each held', () => {
    const usage = { model: 'mid', requests: 100, promptTokens: 0, cachedTokens: 0, completionTokens: 50_000, costMicros: 0, uncappedRequests: 40 };
    const [found] = uncappedRequests({ ...base, models: [usage] }, catalog);
    // (16,000 - 500) output tokens at $8 per 1M = $0.124 held per request.
    expect(found).toMatchObject({ kind: 'uncapped_requests', figures: { uncappedRequests: 40, catalogMaxOutputTokens: 16_000, meanCompletionTokens: 500, heldMicrosPerRequest: 124_000 } });
    expect(uncappedRequests({ ...base, models: [{ ...usage, uncappedRequests: 10 }] }, catalog)).toEqual([]);
    expect(uncappedRequests({ ...base, models: [{ ...usage, uncappedRequests: undefined }] }, catalog)).toEqual([]);
  });
});

describe('recommend', () => {
  it('runs every kind and puts the largest saving first', () => {
    const input: RecommendationInput = {
      ...base,
      keys: [key('idle', { lastUsedAtMs: asOfMs - 40 * dayMs })],
      budgets: [budget({ scope: 'org', scopeId: 'org_a', periods: periods('org_a', [1, 2, 3]) })],
      models: [
        { model: 'big', requests: 100, promptTokens: 10_000_000, cachedTokens: 0, completionTokens: 0, costMicros: 100_000_000 },
        { model: 'mid', requests: 100, promptTokens: 2_000_000, cachedTokens: 0, completionTokens: 0, costMicros: 4_000_000, uncappedRequests: 100 },
      ],
    };
    const kinds = recommend(input, catalog).map((r) => `${r.kind}:${r.subject.id}`);
    expect(kinds).toEqual(['cheaper_model:big', 'low_cache_share:big', 'low_cache_share:mid', 'idle_key:idle', 'budget_never_approached:bud_1', 'uncapped_requests:mid']);
    expect(recommend(input, undefined).map((r) => r.kind)).toEqual(['idle_key', 'budget_never_approached']);
  });
});
