// How a model's price is written in the catalog (USD): token prices per 1M tokens, the tiers that
// change a request's price (service tier, batch, long context) and the unit prices of models not
// billed by text tokens. src/config/catalog.ts turns these into integer micro-USD.
import { z } from 'zod';

const usdPerMTok = z.number().nonnegative();

const tokenPriceFields = {
  inputPerMTok: usdPerMTok,
  // Omitted: cache reads cost the input price.
  cachedInputPerMTok: usdPerMTok.optional(),
  // Cache writes with the default 5-minute TTL (Anthropic); omitted: the input price.
  cacheWritePerMTok: usdPerMTok.optional(),
  // Cache writes with a 1-hour TTL; omitted: the 5-minute write price.
  cacheWrite1hPerMTok: usdPerMTok.optional(),
  // Uncached audio input where it costs more than text (Gemini); omitted: the input price.
  audioInputPerMTok: usdPerMTok.optional(),
  outputPerMTok: usdPerMTok,
};

// Past aboveInputTokens prompt tokens (cache reads and writes included), the whole request is
// billed at these prices (Anthropic's 1M-context window above 200K, for one).
export const longContextSchema = z.object({ aboveInputTokens: z.number().int().positive(), ...tokenPriceFields });

export const tierPriceSchema = z.object({ ...tokenPriceFields, longContext: longContextSchema.optional() });

// flex and priority are what a request asks for in `service_tier`; batch is the Batch API's price,
// never selectable from a request body (a chat request claiming it would buy at half price).
export const serviceTiers = ['flex', 'priority'] as const;
export type ServiceTier = (typeof serviceTiers)[number];

export const priceSchema = tierPriceSchema.extend({
  tiers: z.object({ flex: tierPriceSchema, priority: tierPriceSchema, batch: tierPriceSchema }).partial().optional(),
});

// What a model is for. Only text and embedding models are metered by tokens on the chat,
// completions, responses, messages and embeddings routes; the others carry unit prices for the
// endpoints that will meter them and are refused on those routes.
export const modelKinds = ['text', 'embedding', 'image', 'transcription', 'speech', 'audio', 'realtime', 'moderation'] as const;
export type ModelKind = (typeof modelKinds)[number];

// Unit prices of non-text models, in USD: per image by "WIDTHxHEIGHT" or "WIDTHxHEIGHT/quality",
// per minute of audio, per 1M characters of speech input, and audio or image tokens per 1M.
export const unitsSchema = z
  .object({
    perImage: z.record(z.string().regex(/^\d+x\d+(\/[a-z]+)?$/), z.number().nonnegative()),
    perMinute: z.number().nonnegative(),
    perMCharacters: z.number().nonnegative(),
    audioInputPerMTok: usdPerMTok,
    audioCachedInputPerMTok: usdPerMTok,
    audioOutputPerMTok: usdPerMTok,
    imageInputPerMTok: usdPerMTok,
    imageCachedInputPerMTok: usdPerMTok,
    imageOutputPerMTok: usdPerMTok,
  })
  .partial();

export type PriceConfig = z.output<typeof priceSchema>;
export type TierPriceConfig = z.output<typeof tierPriceSchema>;
export type UnitsConfig = z.output<typeof unitsSchema>;
