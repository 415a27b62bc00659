// Gemini usage: `usageMetadata` on a generateContent answer and on every streamed chunk, counts
// cumulative. promptTokenCount already includes cachedContentTokenCount; thinking is billed as
// output but reported apart (thoughtsTokenCount), and the prompt a tool call adds
// (toolUsePromptTokenCount) is billed as input.
import { asCount, asObject } from '../provider.js';
import { largerUsage, type Usage } from '../types.js';

// The tokens of one modality in a `*TokensDetails` list ([{ modality: 'AUDIO', tokenCount }]).
function modalityTokens(details: unknown, modality: string): number {
  if (!Array.isArray(details)) return 0;
  let tokens = 0;
  for (const entry of details) {
    const e = asObject(entry);
    if (e?.modality === modality) tokens += asCount(e.tokenCount);
  }
  return tokens;
}

export function usageFromMetadata(value: unknown): Usage | undefined {
  const u = asObject(value);
  if (!u) return undefined;
  const promptTokens = asCount(u.promptTokenCount) + asCount(u.toolUsePromptTokenCount);
  const cachedTokens = Math.min(asCount(u.cachedContentTokenCount), promptTokens);
  const reasoningTokens = asCount(u.thoughtsTokenCount);
  // totalTokenCount backs up a chunk that left candidatesTokenCount out: whatever the total holds
  // beyond the prompt was generated, so the bill never falls below it.
  const completionTokens = Math.max(asCount(u.candidatesTokenCount) + reasoningTokens, asCount(u.totalTokenCount) - promptTokens);
  // Audio input costs more than text on most Gemini models: the uncached part of it is priced apart.
  const audioInputTokens = Math.max(0, modalityTokens(u.promptTokensDetails, 'AUDIO') - modalityTokens(u.cacheTokensDetails, 'AUDIO'));
  return {
    promptTokens,
    cachedTokens,
    cacheWriteTokens: 0,
    ...(audioInputTokens > 0 ? { audioInputTokens } : {}),
    completionTokens,
    reasoningTokens,
  };
}

// A generateContent answer is one object; a streamGenerateContent answer without alt=sse is a
// JSON array of the same chunks. Counts are cumulative, so the chunks' largest is the bill (the
// final chunk's, unless an earlier one claimed more).
export function usageFromBody(body: unknown): Usage | undefined {
  if (!Array.isArray(body)) return usageFromMetadata(asObject(body)?.usageMetadata);
  let usage: Usage | undefined;
  for (const chunk of body) usage = largerUsage(usage, usageFromMetadata(asObject(chunk)?.usageMetadata));
  return usage;
}

// True for the chunk that ends the answer (a candidate's finishReason, or a prompt blocked before
// any candidate): its usageMetadata is the final count.
export function isFinalChunk(chunk: unknown): boolean {
  const json = asObject(chunk);
  if (typeof asObject(json?.promptFeedback)?.blockReason === 'string') return true;
  const candidates = json?.candidates;
  return Array.isArray(candidates) && candidates.some((c) => typeof asObject(c)?.finishReason === 'string');
}
