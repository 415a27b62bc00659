import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { siblingsOf } from '../../src/analytics/recommendations.js';
import { meteredByTokens } from '../../src/config/catalog.js';
import { catalog, catalogModel } from './tokens-fixtures.js';

const shipped = parse(readFileSync(new URL('../../config/models.yaml', import.meta.url), 'utf8')) as { models: Record<string, { aliases?: string[] }> };

describe('model catalog (config/models.yaml)', () => {
  it('holds the models other suites and clients rely on, with their aliases', () => {
    for (const name of ['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small', 'gpt-3.5-turbo-instruct', 'claude-sonnet-4-5', 'claude-haiku-4-5']) {
      expect(catalog.resolve(name)?.name).toBe(name);
    }
    expect(catalog.resolve('gpt-4o-2024-08-06')?.name).toBe('gpt-4o');
    expect(catalog.resolve('claude-sonnet-4-5-20250929')?.name).toBe('claude-sonnet-4-5');
  });

  it('serves every OpenAI and Anthropic model people still ask for, dated snapshots as aliases', () => {
    const names = [
      'gpt-4', 'gpt-4-0613', 'gpt-4-turbo', 'gpt-4-turbo-preview', 'gpt-4-0125-preview', 'gpt-4o-2024-11-20', 'gpt-4o-2024-05-13',
      'gpt-4o-mini-2024-07-18', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano-2025-04-14', 'gpt-4o-audio-preview-2024-12-17', 'gpt-4o-realtime-preview',
      'gpt-4o-mini-realtime-preview', 'o1', 'o1-mini', 'o1-pro-2025-03-19', 'o3', 'o3-mini', 'o3-pro', 'o4-mini', 'codex-mini-latest',
      'computer-use-preview', 'gpt-image-1', 'dall-e-2', 'dall-e-3', 'whisper-1', 'tts-1', 'tts-1-hd', 'gpt-4o-transcribe',
      'gpt-4o-mini-transcribe', 'gpt-4o-mini-tts', 'omni-moderation-latest', 'omni-moderation-2024-09-26', 'text-embedding-3-large',
      'text-embedding-ada-002', 'claude-opus-4-7', 'claude-opus-4-6', 'claude-sonnet-4-6', 'claude-opus-4-5-20251101', 'claude-haiku-4-5-20251001',
      'claude-opus-4-1-20250805',
    ];
    expect(names.filter((n) => !catalog.resolve(n))).toEqual([]);
    // A dated snapshot priced differently from its family is its own entry, not an alias.
    expect(catalogModel('gpt-4o-2024-05-13').price.inputPerMTok).toBe(5_000_000);
  });

  it('holds prices as integer micro-USD per 1M tokens', () => {
    expect(catalogModel('gpt-4o').price).toMatchObject({ inputPerMTok: 2_500_000, cachedInputPerMTok: 1_250_000, cacheWritePerMTok: 2_500_000, cacheWrite1hPerMTok: 2_500_000, outputPerMTok: 10_000_000 });
    expect(catalogModel('gpt-4o').price.tiers?.priority).toMatchObject({ inputPerMTok: 4_250_000, cachedInputPerMTok: 2_125_000, outputPerMTok: 17_000_000 });
    expect(catalogModel('gpt-4o-mini').price.cachedInputPerMTok).toBe(75_000);
    expect(catalogModel('claude-opus-4-7').price).toMatchObject({ cacheWritePerMTok: 6_250_000, cacheWrite1hPerMTok: 10_000_000 });
    expect(catalogModel('dall-e-3').units?.perImage?.['1024x1792/hd']).toBe(120_000);
    expect(catalogModel('whisper-1').units?.perMinute).toBe(6_000);
  });

  it('gives every OpenAI model a tiktoken encoding and every Anthropic and Gemini model the estimate', () => {
    for (const model of catalog.list()) {
      if (model.provider === 'openai') expect(model.encoding, model.name).not.toBe('estimate');
      else expect(model.encoding, model.name).toBe('estimate');
    }
    expect(catalogModel('gpt-3.5-turbo').encoding).toBe('cl100k_base');
    expect(catalogModel('gpt-4').encoding).toBe('cl100k_base');
    expect(catalogModel('gpt-5').encoding).toBe('o200k_base');
  });

  it('gives every entry prices, limits and an encoding or estimate', () => {
    for (const { name, kind, price, units, maxOutputTokens, contextWindow, encoding } of catalog.list()) {
      expect(encoding, name).toMatch(/^(o200k_base|cl100k_base|p50k_base|r50k_base|estimate)$/);
      expect(Number.isInteger(contextWindow) && contextWindow > 0, name).toBe(true);
      expect(maxOutputTokens, name).toBeGreaterThan(0);
      expect(maxOutputTokens, name).toBeLessThanOrEqual(contextWindow);
      const prices = [price, ...Object.values(price.tiers ?? {}), ...(price.longContext ? [price.longContext.price] : [])];
      for (const p of prices) for (const [field, micros] of Object.entries(p)) if (typeof micros === 'number') expect(Number.isSafeInteger(micros) && micros >= 0, `${name} ${field}`).toBe(true);
      if (kind === 'text') {
        expect(price.inputPerMTok, name).toBeGreaterThan(0);
        expect(price.outputPerMTok, name).toBeGreaterThan(0);
      } else if (kind === 'embedding') {
        expect(price.inputPerMTok, name).toBeGreaterThan(0);
      } else if (kind !== 'moderation') {
        // Image and audio models are priced by their units (and tokens where OpenAI bills tokens).
        expect(Object.keys(units ?? {}).length, name).toBeGreaterThan(0);
      }
      expect(price.cachedInputPerMTok, name).toBeLessThanOrEqual(price.inputPerMTok);
      expect(price.cacheWrite1hPerMTok ?? price.cacheWritePerMTok, name).toBeGreaterThanOrEqual(price.cacheWritePerMTok);
      // A tier is a discount (flex, batch) or a premium (priority), never a different direction per field.
      if (price.tiers?.flex) expect(price.tiers.flex.inputPerMTok, name).toBeLessThan(price.inputPerMTok);
      if (price.tiers?.batch) expect(price.tiers.batch.inputPerMTok, name).toBeLessThan(price.inputPerMTok);
      if (price.tiers?.priority) expect(price.tiers.priority.outputPerMTok, name).toBeGreaterThan(price.outputPerMTok);
      if (price.longContext) expect(price.longContext.aboveInputTokens, name).toBeLessThan(contextWindow);
    }
  });

  it('has aliases unique across the whole catalog: no name is two models', () => {
    const seen = new Map<string, string>();
    const clashes: string[] = [];
    for (const [name, model] of Object.entries(shipped.models)) {
      for (const id of [name, ...(model.aliases ?? [])]) {
        if (seen.has(id)) clashes.push(`${id}: ${seen.get(id)} and ${name}`);
        seen.set(id, name);
      }
    }
    expect(clashes).toEqual([]);
    expect(seen.size).toBeGreaterThan(90);
  });

  it('marks image and audio models so the token-metered routes refuse them instead of pricing them as text', () => {
    const refused = catalog.list().filter((m) => !meteredByTokens(m)).map((m) => m.name);
    expect(refused).toEqual(expect.arrayContaining(['gpt-image-1', 'dall-e-3', 'whisper-1', 'tts-1', 'gpt-4o-transcribe', 'gpt-4o-mini-tts', 'gpt-4o-realtime-preview', 'gpt-4o-audio-preview', 'omni-moderation-latest']));
    for (const name of ['gpt-4', 'o3-pro', 'text-embedding-3-small', 'claude-opus-4-7']) expect(meteredByTokens(catalogModel(name)), name).toBe(true);
  });

  it('never offers an image or audio model as a cheaper sibling of a text or embedding model', () => {
    const names = (model: string) => siblingsOf(catalogModel(model), catalog).map((m) => m.name);
    expect(names('text-embedding-3-large')).toEqual(['text-embedding-3-small', 'text-embedding-ada-002']);
    expect(names('gpt-4o')).toContain('gpt-4o-mini');
    expect(names('gpt-4o').filter((n) => !meteredByTokens(catalogModel(n)))).toEqual([]);
  });
});
