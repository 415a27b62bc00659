import { describe, expect, it } from 'vitest';
import { catalog, catalogModel } from './tokens-fixtures.js';

describe('model catalog (config/models.yaml)', () => {
  it('holds the models other suites and clients rely on, with their aliases', () => {
    for (const name of ['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small', 'gpt-3.5-turbo-instruct', 'claude-sonnet-4-5', 'claude-haiku-4-5']) {
      expect(catalog.resolve(name)?.name).toBe(name);
    }
    expect(catalog.resolve('gpt-4o-2024-08-06')?.name).toBe('gpt-4o');
    expect(catalog.resolve('claude-sonnet-4-5-20250929')?.name).toBe('claude-sonnet-4-5');
  });

  it('holds prices as integer micro-USD per 1M tokens', () => {
    expect(catalogModel('gpt-4o').price).toEqual({ inputPerMTok: 2_500_000, cachedInputPerMTok: 1_250_000, cacheWritePerMTok: 2_500_000, outputPerMTok: 10_000_000 });
    expect(catalogModel('gpt-4o-mini').price.cachedInputPerMTok).toBe(75_000);
  });

  it('gives every OpenAI model a tiktoken encoding and every Anthropic model the estimate', () => {
    for (const model of catalog.list()) {
      if (model.provider === 'anthropic') expect(model.encoding, model.name).toBe('estimate');
      else expect(model.encoding, model.name).not.toBe('estimate');
    }
    expect(catalogModel('gpt-3.5-turbo').encoding).toBe('cl100k_base');
    expect(catalogModel('gpt-5').encoding).toBe('o200k_base');
  });

  it('prices every model: positive input, cache reads no dearer than input, output for generative models', () => {
    for (const { name, price, maxOutputTokens, contextWindow } of catalog.list()) {
      expect(price.inputPerMTok, name).toBeGreaterThan(0);
      expect(price.cachedInputPerMTok, name).toBeLessThanOrEqual(price.inputPerMTok);
      if (!name.startsWith('text-embedding')) expect(price.outputPerMTok, name).toBeGreaterThan(0);
      expect(maxOutputTokens, name).toBeLessThanOrEqual(contextWindow);
    }
  });
});
