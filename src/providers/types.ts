// What every provider folder produces and consumes; the rest of the gateway sees only these.

// The metered routes. Each provider serves some of them.
export type Endpoint = 'chat' | 'completions' | 'embeddings' | 'responses' | 'messages' | GeminiEndpoint | BedrockEndpoint;

// Gemini's methods, named as in its paths (/v1beta/models/{model}:generateContent).
export type GeminiEndpoint = 'generateContent' | 'streamGenerateContent';

// Bedrock's runtime operations (POST /model/{modelId}/converse and /converse-stream).
export type BedrockEndpoint = 'converse' | 'converseStream';

// Usage normalised across providers. promptTokens includes cached reads and cache writes
// (OpenAI's prompt_tokens already does; Anthropic's input_tokens does not and is summed up);
// completionTokens includes reasoningTokens.
export interface Usage {
  promptTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  // The part of cacheWriteTokens written with a 1-hour TTL (Anthropic), priced apart; absent is 0.
  cacheWrite1hTokens?: number;
  // The part of the uncached prompt that was audio, where audio input is priced apart (Gemini's
  // promptTokensDetails); absent is 0.
  audioInputTokens?: number;
  completionTokens: number;
  reasoningTokens: number;
  // The tier the provider says it served the request at (OpenAI's service_tier: default, flex,
  // priority), which prices it; absent, the tier the request asked for does.
  serviceTier?: string;
}

export const emptyUsage = (): Usage => ({ promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0, reasoningTokens: 0 });

// The larger of two usage reports, kind of token by kind of token, for an upstream that reports
// more than once: a later report may repeat, complete or (hostile or buggy) undercut an earlier
// one, and the bill must never fall below any of them. Input is split into its disjoint, separately
// priced parts first: cached reads are a discount, so taking the larger cached count of the same
// prompt tokens would lower the charge; adding the larger of each part back up cannot.
export function largerUsage(a: Usage | undefined, b: Usage | undefined): Usage | undefined {
  if (!a || !b) return a ?? b;
  const uncached = (u: Usage) => Math.max(0, u.promptTokens - u.cachedTokens - u.cacheWriteTokens);
  const cachedTokens = Math.max(a.cachedTokens, b.cachedTokens);
  const cacheWriteTokens = Math.max(a.cacheWriteTokens, b.cacheWriteTokens);
  const cacheWrite1hTokens = Math.max(a.cacheWrite1hTokens ?? 0, b.cacheWrite1hTokens ?? 0);
  const audioInputTokens = Math.max(a.audioInputTokens ?? 0, b.audioInputTokens ?? 0);
  // The later report's tier: the stream's last word on how it was served.
  const serviceTier = b.serviceTier ?? a.serviceTier;
  return {
    promptTokens: Math.max(uncached(a), uncached(b)) + cachedTokens + cacheWriteTokens,
    cachedTokens,
    cacheWriteTokens,
    ...(cacheWrite1hTokens > 0 ? { cacheWrite1hTokens } : {}),
    ...(audioInputTokens > 0 ? { audioInputTokens } : {}),
    completionTokens: Math.max(a.completionTokens, b.completionTokens),
    reasoningTokens: Math.max(a.reasoningTokens, b.reasoningTokens),
    ...(serviceTier !== undefined ? { serviceTier } : {}),
  };
}
