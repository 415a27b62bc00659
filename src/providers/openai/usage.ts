// Reads OpenAI usage objects: chat/completions/embeddings (`prompt_tokens`…) and the Responses
// API (`input_tokens`…), into the normalised Usage, with the service_tier the answer (a body, a
// chunk or a response object) says it was served at: the one billed, not the one asked for.
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

// The usage of an answer object that carries `usage` and `service_tier` side by side: a whole
// body, a streamed chunk, or a Responses API response object.
export function usageFromBody(answer: unknown): Usage | undefined {
  const o = asObject(answer);
  const usage = usageFromObject(o?.usage);
  // Set on the fresh object rather than spread into a copy: V8 builds `{ ...a, b }` slowly (bench/cpu.ts).
  if (usage && typeof o?.service_tier === 'string') usage.serviceTier = o.service_tier;
  return usage;
}
