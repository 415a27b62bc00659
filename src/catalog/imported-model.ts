// What a community price list turns into before it becomes catalog overrides: one entry per model,
// in the catalog's own terms (USD per 1M tokens), with the source's provider name beside it.
import type { z } from 'zod';
import type { modelSchema } from '../config/schema.js';

export type ImportedConfig = Omit<Partial<z.input<typeof modelSchema>>, 'provider'>;

export interface ImportedModel {
  readonly name: string;
  // The provider as the source names it (LiteLLM's litellm_provider, a models.dev provider id).
  readonly sourceProvider: string;
  readonly config: ImportedConfig;
}

export interface SkippedModel {
  readonly name: string;
  readonly reason: string;
}

export interface ConvertedList {
  readonly models: ImportedModel[];
  readonly skipped: SkippedModel[];
}

// USD per token (LiteLLM) to USD per 1M tokens, without the float noise of 2.5e-6 * 1e6; the
// catalog keeps micro-USD, so nine decimals are more than it can hold.
export const perMTokFromPerToken = (usdPerToken: number): number => Math.round(usdPerToken * 1e15) / 1e9;

export const isPrice = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

export const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0;
