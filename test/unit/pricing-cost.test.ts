import { describe, expect, it } from 'vitest';
import type { ModelPriceMicros } from '../../src/config/catalog.js';
import { costMicros, maxCostMicros, priceFor } from '../../src/pricing/cost.js';
import { usageFromObject as anthropicUsage } from '../../src/providers/anthropic/usage.js';
import { emptyUsage, type Usage } from '../../src/providers/types.js';
import { catalogModel } from './tokens-fixtures.js';

const usage = (fields: Partial<Usage>): Usage => ({ ...emptyUsage(), ...fields });
const gpt4o = catalogModel('gpt-4o').price; // $2.50 in, $1.25 cached, $10 out per 1M
const sonnet = catalogModel('claude-sonnet-4-5').price; // $3 in, $0.30 read, $3.75 5m write, $6 1h write, $15 out

describe('costMicros', () => {
  it('charges prompt and completion tokens at list price: 1000 in + 500 out on gpt-4o is 7500 micro-USD', () => {
    expect(costMicros(usage({ promptTokens: 1000, completionTokens: 500 }), gpt4o)).toBe(1000 * 2.5 + 500 * 10);
  });

  it('charges cached prompt tokens at the cached price, not on top of the input price', () => {
    expect(costMicros(usage({ promptTokens: 1000, cachedTokens: 400 }), gpt4o)).toBe(600 * 2.5 + 400 * 1.25);
  });

  it('charges Anthropic cache reads and cache writes each at their own price', () => {
    const u = usage({ promptTokens: 2000, cachedTokens: 500, cacheWriteTokens: 500, completionTokens: 100 });
    expect(costMicros(u, sonnet)).toBe(1000 * 3 + 500 * 0.3 + 500 * 3.75 + 100 * 15);
  });

  it('charges uncached Gemini audio input at its audio price: 1000 text + 2000 audio + 500 out on gemini-2.5-flash', () => {
    const flash = catalogModel('gemini-2.5-flash').price; // $0.30 text, $1.00 audio, $0.03 cached, $2.50 out per 1M
    expect(costMicros(usage({ promptTokens: 3000, audioInputTokens: 2000, completionTokens: 500 }), flash)).toBe(1000 * 0.3 + 2000 * 1 + 500 * 2.5);
    // A report claiming more audio than its uncached prompt cannot charge cached tokens twice.
    expect(costMicros(usage({ promptTokens: 3000, cachedTokens: 2500, audioInputTokens: 3000 }), flash)).toBe(500 * 1 + 2500 * 0.03);
    // The reservation prices every prompt token as audio could be: the dearest input price.
    expect(maxCostMicros(1000, 0, flash)).toBe(1000 * 1);
  });

  it('does not charge reasoning tokens twice: they are part of completionTokens', () => {
    const withReasoning = usage({ promptTokens: 10, completionTokens: 1000, reasoningTokens: 800 });
    expect(costMicros(withReasoning, gpt4o)).toBe(costMicros(usage({ promptTokens: 10, completionTokens: 1000 }), gpt4o));
  });

  it('rounds a fraction of a micro-dollar up, never down to free', () => {
    const mini = catalogModel('gpt-4o-mini').price; // $0.15 per 1M input: 0.15 micro-USD per token
    expect(costMicros(usage({ promptTokens: 1 }), mini)).toBe(1);
    expect(costMicros(usage({ promptTokens: 20 }), mini)).toBe(3);
    expect(costMicros(emptyUsage(), mini)).toBe(0);
  });

  it('returns exact integers for large requests', () => {
    const opus = catalogModel('claude-opus-4-1').price;
    const cost = costMicros(usage({ promptTokens: 10_000_000, completionTokens: 1_000_000 }), opus);
    expect(cost).toBe(150_000_000 + 75_000_000);
    expect(Number.isInteger(cost)).toBe(true);
  });

  it('throws instead of returning a wrong number when the product leaves the safe integer range', () => {
    const absurd: ModelPriceMicros = { inputPerMTok: 2 ** 40, cachedInputPerMTok: 0, cacheWritePerMTok: 0, outputPerMTok: 0 };
    expect(() => costMicros(usage({ promptTokens: 2 ** 20 }), absurd)).toThrow(RangeError);
  });
});

describe('maxCostMicros', () => {
  it('reserves every prompt token and every allowed output token', () => {
    expect(maxCostMicros(1000, 4096, gpt4o)).toBe(1000 * 2.5 + 4096 * 10);
  });

  it('prices prompt tokens at the dearest cache-write price (1-hour TTL) when that is dearer than plain input', () => {
    expect(maxCostMicros(1000, 100, sonnet)).toBe(1000 * 6 + 100 * 15);
  });

  it('is never below the cost of any usage it allows', () => {
    for (let i = 0; i < 500; i++) {
      const promptTokens = Math.floor(Math.random() * 200_000);
      const cachedTokens = Math.floor(Math.random() * promptTokens);
      const cacheWriteTokens = Math.floor(Math.random() * (promptTokens - cachedTokens));
      const cacheWrite1hTokens = Math.floor(Math.random() * cacheWriteTokens);
      const completionTokens = Math.floor(Math.random() * 64_000);
      const u = usage({ promptTokens, cachedTokens, cacheWriteTokens, cacheWrite1hTokens, completionTokens });
      expect(maxCostMicros(promptTokens, completionTokens, sonnet)).toBeGreaterThanOrEqual(costMicros(u, sonnet));
    }
  });
});

describe('priceFor: the tiers that change what a request costs', () => {
  const gpt5 = catalogModel('gpt-5').price; // $1.25 in, $10 out; flex $0.625/$5, priority $2.50/$20
  const u = usage({ promptTokens: 1000, cachedTokens: 200, completionTokens: 100 });

  it('charges service_tier flex and priority at their own prices, anything else at the standard price', () => {
    expect(costMicros(u, priceFor(gpt5, { promptTokens: 1000 }))).toBe(800 * 1.25 + 200 * 0.125 + 100 * 10);
    expect(costMicros(u, priceFor(gpt5, { serviceTier: 'flex', promptTokens: 1000 }))).toBe(Math.ceil(800 * 0.625 + 200 * 0.0625 + 100 * 5));
    expect(costMicros(u, priceFor(gpt5, { serviceTier: 'priority', promptTokens: 1000 }))).toBe(800 * 2.5 + 200 * 0.25 + 100 * 20);
    for (const serviceTier of ['auto', 'default', 'scale', 42, null, undefined]) {
      expect(priceFor(gpt5, { serviceTier, promptTokens: 1000 }), String(serviceTier)).toBe(gpt5);
    }
  });

  it('never lets a request body pick the batch price', () => {
    expect(priceFor(gpt5, { serviceTier: 'batch', promptTokens: 1000 })).toBe(gpt5);
    expect(priceFor(gpt5, { batch: true, promptTokens: 1000 }).inputPerMTok).toBe(625_000);
  });

  it('pays the standard price for a tier the model does not have', () => {
    const nano = catalogModel('gpt-5-nano').price; // flex, no priority
    expect(priceFor(nano, { serviceTier: 'priority', promptTokens: 10 })).toBe(nano);
  });

  it('bills the whole request at long-context prices once the prompt passes the threshold, cache included', () => {
    const at = (promptTokens: number, cachedTokens = 0) => costMicros(usage({ promptTokens, cachedTokens, completionTokens: 1000 }), priceFor(sonnet, { promptTokens }));
    expect(at(200_000)).toBe(200_000 * 3 + 1000 * 15);
    expect(at(200_001)).toBe(200_001 * 6 + 1000 * 22.5);
    expect(at(250_000, 100_000)).toBe(150_000 * 6 + 100_000 * 0.6 + 1000 * 22.5);
    // Sonnet 4.6 has a 1M window at one price.
    const sonnet46 = catalogModel('claude-sonnet-4-6').price;
    expect(priceFor(sonnet46, { promptTokens: 900_000 })).toBe(sonnet46);
  });

  it('applies long context within the batch tier too', () => {
    expect(priceFor(sonnet, { batch: true, promptTokens: 300_000 })).toMatchObject({ inputPerMTok: 3_000_000, outputPerMTok: 11_250_000 });
  });

  it('charges 1-hour cache writes at their own price and 5-minute writes at theirs', () => {
    const writes = usage({ promptTokens: 3000, cacheWriteTokens: 2000, cacheWrite1hTokens: 500, completionTokens: 10 });
    expect(costMicros(writes, sonnet)).toBe(1000 * 3 + 1500 * 3.75 + 500 * 6 + 10 * 15);
  });

  it('never charges more 1-hour writes than cache writes reported', () => {
    const odd = usage({ promptTokens: 100, cacheWriteTokens: 10, cacheWrite1hTokens: 50 });
    expect(costMicros(odd, sonnet)).toBe(costMicros(usage({ promptTokens: 100, cacheWriteTokens: 10, cacheWrite1hTokens: 10 }), sonnet));
  });
});

describe('Anthropic usage split by cache TTL', () => {
  it('reads the 1-hour share of cache writes from usage.cache_creation and prices it at the 1-hour price', () => {
    const parsed = anthropicUsage({
      input_tokens: 100,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 3000,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
      output_tokens: 10,
    })!;
    expect(parsed).toMatchObject({ promptTokens: 3100, cacheWriteTokens: 3000, cacheWrite1hTokens: 2000 });
    expect(costMicros(parsed, sonnet)).toBe(100 * 3 + 1000 * 3.75 + 2000 * 6 + 10 * 15);
  });
});
