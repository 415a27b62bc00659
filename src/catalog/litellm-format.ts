// LiteLLM's model_prices_and_context_window.json: a map of model key -> prices per token, limits,
// mode and litellm_provider. Keys may carry the provider as a prefix ("groq/llama-3.1-8b-instant");
// the catalog name drops it, since the gateway already routes by provider.
import type { ModelKind } from '../pricing/price-schema.js';
import { type ConvertedList, type ImportedConfig, type ImportedModel, isCount, isPrice, perMTokFromPerToken, type SkippedModel } from './imported-model.js';

type Entry = Record<string, unknown>;

const kindOfMode: Readonly<Record<string, ModelKind>> = {
  chat: 'text',
  completion: 'text',
  responses: 'text',
  embedding: 'embedding',
  image_generation: 'image',
  audio_transcription: 'transcription',
  audio_speech: 'speech',
  moderation: 'moderation',
};

export const looksLikeLiteLlm = (json: unknown): boolean =>
  typeof json === 'object' && json !== null && Object.values(json).some((v) => typeof v === 'object' && v !== null && 'litellm_provider' in v);

const mTok = (entry: Entry, field: string): number | undefined => (isPrice(entry[field]) ? perMTokFromPerToken(entry[field]) : undefined);

// The prices one suffix selects: '' for standard, '_flex', '_priority', '_batches' for tiers,
// '_above_200k_tokens' for long context.
function tokenPrices(entry: Entry, suffix: string, fallback?: { inputPerMTok: number; outputPerMTok: number }) {
  const inputPerMTok = mTok(entry, `input_cost_per_token${suffix}`) ?? fallback?.inputPerMTok;
  const outputPerMTok = mTok(entry, `output_cost_per_token${suffix}`) ?? fallback?.outputPerMTok;
  if (inputPerMTok === undefined || outputPerMTok === undefined) return undefined;
  const cacheSuffix = suffix === '_batches' ? '' : suffix;
  const optional = {
    cachedInputPerMTok: mTok(entry, `cache_read_input_token_cost${cacheSuffix}`),
    cacheWritePerMTok: mTok(entry, `cache_creation_input_token_cost${cacheSuffix}`),
    cacheWrite1hPerMTok: suffix === '' ? mTok(entry, 'cache_creation_input_token_cost_above_1hr') : undefined,
  };
  // Batch prices halve cache prices too where LiteLLM lists only input and output.
  if (suffix === '_batches') {
    const ratio = fallback && fallback.inputPerMTok > 0 ? inputPerMTok / fallback.inputPerMTok : 1;
    for (const key of Object.keys(optional) as Array<keyof typeof optional>) {
      const standard = optional[key];
      optional[key] = standard === undefined ? undefined : Math.round(standard * ratio * 1e9) / 1e9;
    }
  }
  return { inputPerMTok, outputPerMTok, ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) };
}

// The lowest long-context threshold LiteLLM lists (input_cost_per_token_above_200k_tokens...).
function longContext(entry: Entry) {
  const thresholds = Object.keys(entry)
    .map((k) => /^input_cost_per_token_above_(\d+)k_tokens$/.exec(k)?.[1])
    .filter((k): k is string => k !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  const first = thresholds[0];
  if (first === undefined) return undefined;
  const suffix = `_above_${first}k_tokens`;
  const standard = tokenPrices(entry, '');
  const prices = tokenPrices(entry, suffix, standard && { inputPerMTok: standard.inputPerMTok, outputPerMTok: standard.outputPerMTok });
  return prices && { aboveInputTokens: first * 1000, ...prices };
}

function units(entry: Entry): ImportedConfig['units'] {
  const found: Record<string, number> = {};
  if (isPrice(entry.input_cost_per_second)) found.perMinute = Math.round(entry.input_cost_per_second * 60 * 1e9) / 1e9;
  if (isPrice(entry.input_cost_per_character)) found.perMCharacters = perMTokFromPerToken(entry.input_cost_per_character);
  const audioIn = mTok(entry, 'input_cost_per_audio_token');
  const audioOut = mTok(entry, 'output_cost_per_audio_token');
  if (audioIn !== undefined) found.audioInputPerMTok = audioIn;
  if (audioOut !== undefined) found.audioOutputPerMTok = audioOut;
  return Object.keys(found).length > 0 ? found : undefined;
}

function convert(key: string, entry: Entry): ImportedModel | SkippedModel {
  const provider = typeof entry.litellm_provider === 'string' ? entry.litellm_provider : undefined;
  if (!provider) return { name: key, reason: 'no litellm_provider' };
  const name = key.startsWith(`${provider}/`) ? key.slice(provider.length + 1) : key;
  const kind = kindOfMode[String(entry.mode ?? 'chat')];
  if (!kind) return { name, reason: `mode ${String(entry.mode)} is not metered` };
  if (typeof entry.deprecation_date === 'string' && entry.deprecation_date < new Date().toISOString().slice(0, 10)) {
    return { name, reason: `deprecated on ${entry.deprecation_date}` };
  }
  const standard = tokenPrices(entry, '');
  const unitPrices = units(entry);
  if (!standard && !unitPrices) return { name, reason: 'no price' };
  const tiers = Object.fromEntries(
    (
      [
        ['flex', '_flex'],
        ['priority', '_priority'],
        ['batch', '_batches'],
      ] as const
    ).flatMap(([tier, suffix]) => {
      if (!standard || !isPrice(entry[`input_cost_per_token${suffix}`])) return [];
      const prices = tokenPrices(entry, suffix, standard);
      return prices ? [[tier, prices]] : [];
    }),
  );
  const long = standard && longContext(entry);
  const contextWindow = [entry.max_input_tokens, entry.max_tokens].find(isCount);
  const maxOutputTokens = [entry.max_output_tokens, entry.max_tokens].find(isCount);
  const config: ImportedConfig = {
    kind,
    price: { ...(standard ?? { inputPerMTok: 0, outputPerMTok: 0 }), ...(long ? { longContext: long } : {}), ...(Object.keys(tiers).length > 0 ? { tiers } : {}) },
    ...(unitPrices ? { units: unitPrices } : {}),
    ...(contextWindow ? { contextWindow } : {}),
    ...(maxOutputTokens ? { maxOutputTokens: contextWindow ? Math.min(maxOutputTokens, contextWindow) : maxOutputTokens } : {}),
    ...(entry.supports_reasoning === true ? { reasoning: true } : {}),
  };
  return { name, sourceProvider: provider, config };
}

export function fromLiteLlm(json: unknown): ConvertedList {
  const models: ImportedModel[] = [];
  const skipped: SkippedModel[] = [];
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (key === 'sample_spec' || typeof value !== 'object' || value === null) continue;
    const result = convert(key, value as Entry);
    if ('config' in result) models.push(result);
    else skipped.push(result);
  }
  return { models, skipped };
}
