// Reads OpenAI usage objects: chat/completions/embeddings (`prompt_tokens`…) and the Responses
// API (`input_tokens`…), into the normalised Usage.
import { asCount, asObject } from '../provider.js';
import type { Usage } from '../types.js';

export function usageFromObject(value: unknown): Usage | undefined {
  const u = asObject(value);
  if (!u) return undefined;
  if ('input_tokens' in u) {
    return {
      promptTokens: asCount(u.input_tokens),
      cachedTokens: asCount(asObject(u.input_tokens_details)?.cached_tokens),
      cacheWriteTokens: 0,
      completionTokens: asCount(u.output_tokens),
      reasoningTokens: asCount(asObject(u.output_tokens_details)?.reasoning_tokens),
    };
  }
  return {
    promptTokens: asCount(u.prompt_tokens),
    cachedTokens: asCount(asObject(u.prompt_tokens_details)?.cached_tokens),
    cacheWriteTokens: 0,
    completionTokens: asCount(u.completion_tokens),
    reasoningTokens: asCount(asObject(u.completion_tokens_details)?.reasoning_tokens),
  };
}

export function usageFromBody(body: unknown): Usage | undefined {
  return usageFromObject(asObject(body)?.usage);
}
