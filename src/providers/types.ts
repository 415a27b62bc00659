// What every provider folder produces and consumes; the rest of the gateway sees only these.

// The metered routes. Each provider serves some of them.
export type Endpoint = 'chat' | 'completions' | 'embeddings' | 'responses' | 'messages';

// Usage normalised across providers. promptTokens includes cached reads and cache writes
// (OpenAI's prompt_tokens already does; Anthropic's input_tokens does not and is summed up);
// completionTokens includes reasoningTokens.
export interface Usage {
  promptTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  completionTokens: number;
  reasoningTokens: number;
}

export const emptyUsage = (): Usage => ({ promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0, reasoningTokens: 0 });
