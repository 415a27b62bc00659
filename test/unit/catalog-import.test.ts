// Community price lists (LiteLLM, models.dev) converted to catalog overrides, from small fixtures
// written in each format's real shape.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { convertList, planImport } from '../../src/catalog/import-plan.js';
import { fromLiteLlm } from '../../src/catalog/litellm-format.js';
import { fromModelsDev } from '../../src/catalog/models-dev-format.js';
import { loadConfig } from '../../src/config/load.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/catalog/${name}`, import.meta.url), 'utf8'));
const litellm = fixture('litellm.json');
const modelsDev = fixture('models-dev.json');

const byName = <T extends { name: string }>(list: readonly T[], name: string): T => {
  const found = list.find((m) => m.name === name);
  if (!found) throw new Error(`no ${name} in ${list.map((m) => m.name).join(', ')}`);
  return found;
};

describe('LiteLLM model_prices_and_context_window.json', () => {
  const { models, skipped } = fromLiteLlm(litellm);

  it('turns prices per token into prices per 1M tokens without float noise, and drops the provider prefix', () => {
    expect(byName(models, 'llama-3.1-8b-instant')).toEqual({
      name: 'llama-3.1-8b-instant',
      sourceProvider: 'groq',
      config: { kind: 'text', price: { inputPerMTok: 0.05, outputPerMTok: 0.08 }, contextWindow: 128000, maxOutputTokens: 8192 },
    });
    expect(byName(models, 'gpt-4o').config.price).toMatchObject({ inputPerMTok: 2.5, cachedInputPerMTok: 1.25, outputPerMTok: 10 });
  });

  it('reads flex, priority and batch tiers, with their own cache prices', () => {
    expect(byName(models, 'gpt-5.2').config).toMatchObject({
      reasoning: true,
      price: {
        inputPerMTok: 1.75,
        cachedInputPerMTok: 0.175,
        outputPerMTok: 14,
        tiers: {
          flex: { inputPerMTok: 0.875, cachedInputPerMTok: 0.0875, outputPerMTok: 7 },
          priority: { inputPerMTok: 3.5, cachedInputPerMTok: 0.35, outputPerMTok: 28 },
          batch: { inputPerMTok: 0.875, cachedInputPerMTok: 0.0875, outputPerMTok: 7 },
        },
      },
    });
  });

  it('reads long-context prices and 1-hour cache writes', () => {
    expect(byName(models, 'gemini-2.5-pro').config.price).toMatchObject({
      inputPerMTok: 1.25,
      longContext: { aboveInputTokens: 200_000, inputPerMTok: 2.5, cachedInputPerMTok: 0.25, outputPerMTok: 15 },
    });
    expect(byName(models, 'claude-sonnet-4-5-20250929').config.price).toMatchObject({
      cacheWritePerMTok: 3.75,
      cacheWrite1hPerMTok: 6,
      longContext: { aboveInputTokens: 200_000, inputPerMTok: 6, cacheWritePerMTok: 7.5, outputPerMTok: 22.5 },
      tiers: { batch: { inputPerMTok: 1.5, cachedInputPerMTok: 0.15, cacheWritePerMTok: 1.875, outputPerMTok: 7.5 } },
    });
  });

  it('keeps audio models with their unit price and skips what the gateway cannot meter or price', () => {
    expect(byName(models, 'whisper-large-v3').config).toMatchObject({ kind: 'transcription', units: { perMinute: 0.0018498 } });
    expect(skipped).toEqual(
      expect.arrayContaining([
        { name: 'gpt-4.5-preview', reason: 'deprecated on 2025-07-14' },
        { name: 'rerank-english-v3.0', reason: 'mode rerank is not metered' },
        { name: '256-x-256/dall-e-2', reason: 'no price' },
      ]),
    );
    expect(models.map((m) => m.name)).not.toContain('sample_spec');
  });
});

describe('models.dev api.json', () => {
  const { models, skipped } = fromModelsDev(modelsDev);

  it('reads each provider\'s models with prices per 1M tokens, limits and long-context prices', () => {
    expect(byName(models, 'llama-3.3-70b-versatile')).toEqual({
      name: 'llama-3.3-70b-versatile',
      sourceProvider: 'groq',
      config: { kind: 'text', price: { inputPerMTok: 0.59, outputPerMTok: 0.79 }, contextWindow: 131072, maxOutputTokens: 32768 },
    });
    expect(byName(models, 'claude-sonnet-4-5').config.price).toEqual({
      inputPerMTok: 3,
      outputPerMTok: 15,
      cachedInputPerMTok: 0.3,
      cacheWritePerMTok: 3.75,
      longContext: { aboveInputTokens: 200_000, inputPerMTok: 6, outputPerMTok: 22.5, cachedInputPerMTok: 0.6, cacheWritePerMTok: 7.5 },
    });
    expect(byName(models, 'qwen/qwen3-32b').config.reasoning).toBe(true);
    expect(skipped).toEqual([
      { name: 'mixtral-8x7b-32768', reason: 'deprecated' },
      { name: 'no-price-model', reason: 'no price' },
    ]);
  });

  it('reads the same list wrapped in { providers }', () => {
    expect(fromModelsDev({ providers: modelsDev }).models).toEqual(models);
  });
});

describe('planImport', () => {
  const config = loadConfig({ env: {}, overrides: { 'providers.groq': { kind: 'openai', baseUrl: 'http://127.0.0.1:1/v1' } } });
  const ctx = { providers: new Set(config.providers.keys()), catalog: config.catalog, overridden: new Set<string>() };

  it('detects the format, keeps models of configured providers and never shadows an alias or an existing model unasked', () => {
    const list = convertList(litellm);
    expect(list.format).toBe('litellm');
    const plan = planImport(list, { encoding: 'estimate', replace: false }, ctx);
    expect(Object.keys(plan.models).sort()).toEqual(['ft:gpt-4o-mini-2024-07-18', 'gpt-5.2', 'whisper-large-v3']);
    expect(plan.skipped).toEqual(
      expect.arrayContaining([
        { name: 'gpt-4o', reason: 'already in the catalog (--replace overrides it)' },
        { name: 'gpt-4o-2024-08-06', reason: 'already an alias of gpt-4o' },
        { name: 'claude-sonnet-4-5-20250929', reason: 'already an alias of claude-sonnet-4-5' },
        // Gemini is a built-in provider with its own catalog entries; Ollama is not configured here.
        { name: 'gemini-2.5-pro', reason: 'already in the catalog (--replace overrides it)' },
        { name: 'llama3.1', reason: 'provider ollama is not configured' },
        // Groq is configured here under its preset's name, so the shipped Groq prices apply.
        { name: 'llama-3.1-8b-instant', reason: 'already in the catalog (--replace overrides it)' },
      ]),
    );
  });

  it('routes one source provider to a named gateway provider, and replaces existing models only with --replace', () => {
    const list = convertList(modelsDev);
    expect(list.format).toBe('models.dev');
    const local = planImport(list, { from: 'lmstudio', provider: 'groq', encoding: 'cl100k_base', replace: false }, ctx);
    expect(local.models).toEqual({ 'openai/gpt-oss-20b': expect.objectContaining({ provider: 'groq', encoding: 'cl100k_base', price: { inputPerMTok: 0, outputPerMTok: 0 } }) });
    const replaced = planImport(list, { from: 'anthropic', encoding: 'estimate', replace: true }, ctx);
    // An existing model keeps its own encoding; only what the list says changes.
    expect(replaced.models['claude-sonnet-4-5']).toMatchObject({ provider: 'anthropic', contextWindow: 1_000_000 });
    expect(replaced.models['claude-sonnet-4-5']).not.toHaveProperty('encoding');
  });

  it('refuses a file in neither format', () => {
    expect(() => convertList({ hello: 'world' })).toThrow(/neither LiteLLM/);
  });
});
