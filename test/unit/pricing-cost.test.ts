import { describe, expect, it } from 'vitest';
import type { ModelPriceMicros } from '../../src/config/catalog.js';
import { costMicros, maxCostMicros } from '../../src/pricing/cost.js';
import { emptyUsage, type Usage } from '../../src/providers/types.js';
import { catalogModel } from './tokens-fixtures.js';

const usage = (fields: Partial<Usage>): Usage => ({ ...emptyUsage(), ...fields });
const gpt4o = catalogModel('gpt-4o').price; // $2.50 in, $1.25 cached, $10 out per 1M
const sonnet = catalogModel('claude-sonnet-4-5').price; // $3 in, $0.30 read, $3.75 write, $15 out

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

  it('prices prompt tokens at the cache-write price when that is dearer than plain input', () => {
    expect(maxCostMicros(1000, 100, sonnet)).toBe(1000 * 3.75 + 100 * 15);
  });

  it('is never below the cost of any usage it allows', () => {
    for (let i = 0; i < 500; i++) {
      const promptTokens = Math.floor(Math.random() * 200_000);
      const cachedTokens = Math.floor(Math.random() * promptTokens);
      const cacheWriteTokens = Math.floor(Math.random() * (promptTokens - cachedTokens));
      const completionTokens = Math.floor(Math.random() * 64_000);
      const u = usage({ promptTokens, cachedTokens, cacheWriteTokens, completionTokens });
      expect(maxCostMicros(promptTokens, completionTokens, sonnet)).toBeGreaterThanOrEqual(costMicros(u, sonnet));
    }
  });
});
