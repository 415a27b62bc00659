// The Bedrock models in the shipped catalog: Bedrock model IDs on the bedrock provider, inference
// profiles as aliases forwarded as named, priced as AWS publishes them (on-demand, us-east-1).
import { describe, expect, it } from 'vitest';
import { catalog, catalogModel } from './tokens-fixtures.js';

describe('Bedrock catalog entries', () => {
  it('lists Anthropic, Amazon and Meta models on the bedrock provider, counted by estimate', () => {
    for (const name of ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'anthropic.claude-sonnet-4-5-20250929-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0', 'amazon.nova-pro-v1:0', 'meta.llama3-3-70b-instruct-v1:0']) {
      expect(catalogModel(name)).toMatchObject({ name, provider: 'bedrock', encoding: 'estimate', kind: 'text' });
    }
  });

  it('resolves a cross-region inference profile to its model, sent upstream under the profile ID', () => {
    const profile = catalog.resolve('us.anthropic.claude-3-5-sonnet-20241022-v2:0');
    expect(profile).toMatchObject({ name: 'anthropic.claude-3-5-sonnet-20241022-v2:0', upstreamModel: 'us.anthropic.claude-3-5-sonnet-20241022-v2:0' });
    expect(catalog.resolve('global.anthropic.claude-sonnet-4-5-20250929-v1:0')?.name).toBe('anthropic.claude-sonnet-4-5-20250929-v1:0');
  });

  it('holds the published prices, cache reads and writes included, in micro-USD per 1M tokens', () => {
    expect(catalogModel('anthropic.claude-3-5-sonnet-20241022-v2:0').price).toMatchObject({ inputPerMTok: 3_000_000, cachedInputPerMTok: 300_000, cacheWritePerMTok: 3_750_000, outputPerMTok: 15_000_000 });
    expect(catalogModel('anthropic.claude-3-5-haiku-20241022-v1:0').price).toMatchObject({ inputPerMTok: 800_000, cachedInputPerMTok: 80_000, cacheWritePerMTok: 1_000_000, outputPerMTok: 4_000_000 });
    expect(catalogModel('amazon.nova-micro-v1:0').price).toMatchObject({ inputPerMTok: 35_000, outputPerMTok: 140_000 });
    expect(catalogModel('anthropic.claude-3-5-sonnet-20241022-v2:0').price.tiers?.batch).toMatchObject({ inputPerMTok: 1_500_000, outputPerMTok: 7_500_000 });
  });
});
