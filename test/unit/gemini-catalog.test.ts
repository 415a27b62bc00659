// The Gemini models in the shipped catalog, priced as Google publishes them (Gemini API, paid tier),
// with 2.5 Pro's long-context tier picked by priceFor past 200K prompt tokens.
import { describe, expect, it } from 'vitest';
import { priceFor } from '../../src/pricing/cost.js';
import { catalog, catalogModel } from './tokens-fixtures.js';

describe('Gemini catalog entries', () => {
  it('lists the current Gemini models on the gemini provider, counted by estimate', () => {
    for (const name of ['gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.5-flash-lite', 'gemini-2.0-flash']) {
      const model = catalogModel(name);
      expect(model).toMatchObject({ name, provider: 'gemini', encoding: 'estimate', contextWindow: 1_048_576, kind: 'text' });
    }
    expect(catalog.resolve('gemini-2.0-flash-001')?.name).toBe('gemini-2.0-flash');
    // 2.5 models think, and thinking is billed as output whether or not the client sees it.
    expect(catalogModel('gemini-2.5-flash').reasoning).toBe(true);
    expect(catalogModel('gemini-2.0-flash').reasoning).toBe(false);
  });

  it('holds the published prices in micro-USD per 1M tokens', () => {
    expect(catalogModel('gemini-2.5-pro').price).toMatchObject({ inputPerMTok: 1_250_000, cachedInputPerMTok: 125_000, outputPerMTok: 10_000_000 });
    expect(catalogModel('gemini-2.5-flash').price).toMatchObject({ inputPerMTok: 300_000, cachedInputPerMTok: 30_000, outputPerMTok: 2_500_000 });
    expect(catalogModel('gemini-2.5-flash-lite').price).toMatchObject({ inputPerMTok: 100_000, cachedInputPerMTok: 10_000, outputPerMTok: 400_000 });
    expect(catalogModel('gemini-2.0-flash').price).toMatchObject({ inputPerMTok: 100_000, cachedInputPerMTok: 25_000, outputPerMTok: 400_000 });
    expect(catalogModel('gemini-2.5-flash').price.tiers?.batch).toMatchObject({ inputPerMTok: 150_000, outputPerMTok: 1_250_000 });
  });

  it('charges 2.5 Pro prompts over 200K tokens the long-context price for the whole request', () => {
    const price = catalogModel('gemini-2.5-pro').price;
    expect(priceFor(price, { promptTokens: 200_000 })).toMatchObject({ inputPerMTok: 1_250_000, outputPerMTok: 10_000_000 });
    expect(priceFor(price, { promptTokens: 200_001 })).toMatchObject({ inputPerMTok: 2_500_000, cachedInputPerMTok: 250_000, outputPerMTok: 15_000_000 });
    expect(priceFor(price, { promptTokens: 200_001, batch: true })).toMatchObject({ inputPerMTok: 1_250_000, outputPerMTok: 7_500_000 });
  });
});
