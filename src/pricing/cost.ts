// Money math for the budget engine: what a request costs from its usage, and the most it can cost
// before it runs. Integer micro-USD throughout; prices are micro-USD per 1M tokens (the catalog's).
import type { ModelPriceMicros } from '../config/catalog.js';
import type { Usage } from '../providers/types.js';

const tokensPerMTok = 1_000_000;

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
// which are billed at the output price, so reasoningTokens needs no term of its own.
export function costMicros(usage: Usage, price: ModelPriceMicros): number {
  const uncachedInputTokens = Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens);
  return microsFromTokenPriceProduct(
    uncachedInputTokens * price.inputPerMTok +
      usage.cachedTokens * price.cachedInputPerMTok +
      usage.cacheWriteTokens * price.cacheWritePerMTok +
      usage.completionTokens * price.outputPerMTok,
  );
}

// The reservation: every prompt token at the dearest input price (a cache write costs more than a
// plain input token on Anthropic) and every allowed output token, so the real cost can only be lower.
export function maxCostMicros(promptTokens: number, maxOutputTokens: number, price: ModelPriceMicros): number {
  const inputPerMTok = Math.max(price.inputPerMTok, price.cacheWritePerMTok);
  return microsFromTokenPriceProduct(promptTokens * inputPerMTok + maxOutputTokens * price.outputPerMTok);
}
