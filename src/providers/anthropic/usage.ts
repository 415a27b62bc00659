// Anthropic usage: input_tokens excludes cache reads and writes, so the normalised promptTokens
// adds them back; message_delta carries the cumulative output count.
import { asCount, asObject } from '../provider.js';
import type { Usage } from '../types.js';

export function usageFromObject(value: unknown): Usage | undefined {
  const u = asObject(value);
  if (!u) return undefined;
  const cachedTokens = asCount(u.cache_read_input_tokens);
  const cacheWriteTokens = asCount(u.cache_creation_input_tokens);
  // The split of cache writes by TTL; 1-hour writes cost more than 5-minute ones.
  const cacheWrite1hTokens = Math.min(asCount(asObject(u.cache_creation)?.ephemeral_1h_input_tokens), cacheWriteTokens);
  return {
    promptTokens: asCount(u.input_tokens) + cachedTokens + cacheWriteTokens,
    cachedTokens,
    cacheWriteTokens,
    ...(cacheWrite1hTokens > 0 ? { cacheWrite1hTokens } : {}),
    completionTokens: asCount(u.output_tokens),
    reasoningTokens: 0,
  };
}

export const usageFromBody = (body: unknown): Usage | undefined => usageFromObject(asObject(body)?.usage);
