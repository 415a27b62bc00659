// models.dev api.json: provider id -> { models: model id -> { cost (USD per 1M tokens), limit,
// modalities, reasoning, status } }. Some copies wrap the map in { providers: ... }.
import type { ModelKind } from '../pricing/price-schema.js';
import { type ConvertedList, type ImportedConfig, type ImportedModel, isCount, isPrice, type SkippedModel } from './imported-model.js';

type Obj = Record<string, unknown>;
const asObj = (value: unknown): Obj | undefined => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined);

const providersOf = (json: unknown): Obj => asObj(asObj(json)?.providers) ?? asObj(json) ?? {};

export const looksLikeModelsDev = (json: unknown): boolean => Object.values(providersOf(json)).some((p) => asObj(asObj(p)?.models) !== undefined);

function tokenPrices(cost: Obj) {
  if (!isPrice(cost.input) || !isPrice(cost.output)) return undefined;
  return {
    inputPerMTok: cost.input,
    outputPerMTok: cost.output,
    ...(isPrice(cost.cache_read) ? { cachedInputPerMTok: cost.cache_read } : {}),
    ...(isPrice(cost.cache_write) ? { cacheWritePerMTok: cost.cache_write } : {}),
  };
}

function kindOf(model: Obj): ModelKind {
  const output = asObj(model.modalities)?.output;
  if (!Array.isArray(output) || output.includes('text')) return 'text';
  if (output.includes('image')) return 'image';
  if (output.includes('audio')) return 'speech';
  return 'text';
}

function convert(providerId: string, modelId: string, model: Obj): ImportedModel | SkippedModel {
  if (model.status === 'deprecated') return { name: modelId, reason: 'deprecated' };
  const cost = asObj(model.cost);
  const standard = cost && tokenPrices(cost);
  if (!cost || !standard) return { name: modelId, reason: 'no price' };
  // context_over_200k: the whole request's prices past 200K input tokens.
  const over = asObj(cost.context_over_200k);
  const long = over && tokenPrices(over);
  const limit = asObj(model.limit) ?? {};
  const contextWindow = isCount(limit.context) ? limit.context : undefined;
  const maxOutputTokens = isCount(limit.output) ? (contextWindow ? Math.min(limit.output, contextWindow) : limit.output) : undefined;
  const audio = {
    ...(isPrice(cost.input_audio) ? { audioInputPerMTok: cost.input_audio } : {}),
    ...(isPrice(cost.output_audio) ? { audioOutputPerMTok: cost.output_audio } : {}),
  };
  const config: ImportedConfig = {
    kind: kindOf(model),
    price: { ...standard, ...(long ? { longContext: { aboveInputTokens: 200_000, ...long } } : {}) },
    ...(Object.keys(audio).length > 0 ? { units: audio } : {}),
    ...(contextWindow ? { contextWindow } : {}),
    ...(maxOutputTokens ? { maxOutputTokens } : {}),
    ...(model.reasoning === true ? { reasoning: true } : {}),
  };
  return { name: modelId, sourceProvider: providerId, config };
}

export function fromModelsDev(json: unknown): ConvertedList {
  const models: ImportedModel[] = [];
  const skipped: SkippedModel[] = [];
  for (const [providerId, provider] of Object.entries(providersOf(json))) {
    for (const [modelId, model] of Object.entries(asObj(asObj(provider)?.models) ?? {})) {
      const result = asObj(model) ? convert(providerId, modelId, asObj(model)!) : { name: modelId, reason: 'not an object' };
      if ('config' in result) models.push(result);
      else skipped.push(result);
    }
  }
  return { models, skipped };
}
