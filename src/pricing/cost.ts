// Money math for the budget engine: which of a model's prices a request pays, what it costs from
// its usage, and the most it can cost before it runs. Integer micro-USD throughout; prices are
// micro-USD per 1M tokens (the catalog's).
import type { ModelPriceMicros, TokenPriceMicros } from '../config/catalog.js';
import type { Usage } from '../providers/types.js';
import { serviceTiers, type ServiceTier } from './price-schema.js';

const tokensPerMTok = 1_000_000;

export interface PriceContext {
  // The request body's `service_tier`: flex or priority pick their tier where the model has one;
  // anything else (auto, default, a tier the model lacks) pays the standard price.
  readonly serviceTier?: unknown;
  // The Batch API's price; set only by the code that meters batches, never from a request body.
  readonly batch?: boolean;
  // Every prompt token, cache reads and writes included: past a long-context threshold the whole
  // request pays the long-context price.
  readonly promptTokens: number;
}

const isServiceTier = (value: unknown): value is ServiceTier => (serviceTiers as readonly unknown[]).includes(value);

export function priceFor(price: ModelPriceMicros, ctx: PriceContext): TokenPriceMicros {
  const tierName = ctx.batch ? 'batch' : isServiceTier(ctx.serviceTier) ? ctx.serviceTier : undefined;
  const tier = (tierName && price.tiers?.[tierName]) || price;
  return tier.longContext && ctx.promptTokens > tier.longContext.aboveInputTokens ? tier.longContext.price : tier;
}

// Ceiling of (sum of tokens x micro-USD per 1M tokens) / 1M, in exact integer steps: a fraction of
// a micro-dollar is charged as a whole one, so many small requests never add up to a free one.
function microsFromTokenPriceProduct(tokenMicrosPerMTok: number): number {
  if (!Number.isSafeInteger(tokenMicrosPerMTok) || tokenMicrosPerMTok < 0) {
    throw new RangeError(`cost out of range: ${tokenMicrosPerMTok} token-micros per 1M tokens`);
  }
  const remainder = tokenMicrosPerMTok % tokensPerMTok;
  return (tokenMicrosPerMTok - remainder) / tokensPerMTok + (remainder > 0 ? 1 : 0);
}

// promptTokens includes cached reads and cache writes; completionTokens includes reasoning tokens,
// which are billed at the output price, so reasoningTokens needs no term of its own. Cache writes
// with a 1-hour TTL are part of cacheWriteTokens and pay their own price, as audio input is part of
// the uncached prompt and pays its own.
export function costMicros(usage: Usage, price: TokenPriceMicros): number {
  const uncachedInputTokens = Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens);
  const audioInputTokens = Math.min(usage.audioInputTokens ?? 0, uncachedInputTokens);
  const write1hTokens = Math.min(usage.cacheWrite1hTokens ?? 0, usage.cacheWriteTokens);
  return microsFromTokenPriceProduct(
    (uncachedInputTokens - audioInputTokens) * price.inputPerMTok +
      audioInputTokens * (price.audioInputPerMTok ?? price.inputPerMTok) +
      usage.cachedTokens * price.cachedInputPerMTok +
      (usage.cacheWriteTokens - write1hTokens) * price.cacheWritePerMTok +
      write1hTokens * (price.cacheWrite1hPerMTok ?? price.cacheWritePerMTok) +
      usage.completionTokens * price.outputPerMTok,
  );
}

// The dearest price a prompt token can pay: a cache write (1-hour ones most) costs more than a
// plain input token on Anthropic, audio more than text on Gemini.
export const dearestInputPerMTok = (price: TokenPriceMicros): number =>
  Math.max(price.inputPerMTok, price.cacheWritePerMTok, price.cacheWrite1hPerMTok ?? 0, price.audioInputPerMTok ?? 0);

// The reservation: every prompt token at the dearest input price and every allowed output token,
// so the real cost can only be lower.
export function maxCostMicros(promptTokens: number, maxOutputTokens: number, price: TokenPriceMicros): number {
  return microsFromTokenPriceProduct(promptTokens * dearestInputPerMTok(price) + maxOutputTokens * price.outputPerMTok);
}
