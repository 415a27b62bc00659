// Bedrock usage: `usage` on a Converse answer and on ConverseStream's `metadata` event, in one
// shape (TokenUsage). inputTokens leaves out the tokens read from and written to the prompt cache
// (as Anthropic's input_tokens does), so the prompt is their sum; totalTokens backs that up.
import { asCount, asObject } from '../provider.js';
import type { Usage } from '../types.js';

export function usageFromTokenUsage(value: unknown): Usage | undefined {
  const u = asObject(value);
  if (!u) return undefined;
  const cachedTokens = asCount(u.cacheReadInputTokens);
  const cacheWriteTokens = asCount(u.cacheWriteInputTokens);
  const completionTokens = asCount(u.outputTokens);
  // Whatever the total holds beyond the output was input, so the bill never falls below it.
  const promptTokens = Math.max(asCount(u.inputTokens) + cachedTokens + cacheWriteTokens, asCount(u.totalTokens) - completionTokens);
  return { promptTokens, cachedTokens, cacheWriteTokens, completionTokens, reasoningTokens: 0 };
}

export const usageFromBody = (body: unknown): Usage | undefined => usageFromTokenUsage(asObject(body)?.usage);
