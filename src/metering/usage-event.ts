// Builds the usage event of a finished request: the provider's usage when it sent one, otherwise
// Tollgate's own count of the prompt and of the delivered text (marked estimated), priced in
// integer micro-USD from the catalog.
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { CatalogModel } from '../config/catalog.js';
import { costMicros } from '../pricing/cost.js';
import type { Usage } from '../providers/types.js';
import type { PromptCount, PromptCounter } from '../tokens/prompt-counter.js';
import type { UsageEvent } from '../usage/event.js';
import type { MeterOutcome } from './meter.js';

export interface EventContext {
  readonly requestId: string;
  readonly principal: Principal;
  readonly model: CatalogModel;
  // Counted on first call (reserve calls it when a budget applies) and remembered.
  readonly prompt: () => PromptCount | Promise<PromptCount>;
  readonly sessionId: string | null;
  readonly tags: Readonly<Record<string, string>>;
}

const zero: Usage = { promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0, reasoningTokens: 0 };

// No usage in the answer: if the upstream accepted the request (2xx/3xx), it billed the prompt and
// whatever it produced, so both are counted here; if it refused (or was never reached), nothing.
async function usageOf(outcome: MeterOutcome, ctx: EventContext, counter: PromptCounter): Promise<{ usage: Usage; estimated: boolean }> {
  if (outcome.usage) return { usage: outcome.usage, estimated: false };
  if (outcome.status < 200 || outcome.status >= 400) return { usage: zero, estimated: false };
  const [promptTokens, completion] = await Promise.all([promptTokensOf(ctx), counter.countCompletion(outcome.deliveredText(), ctx.model)]);
  return { usage: { ...zero, promptTokens, completionTokens: completion.tokens }, estimated: true };
}

// A prompt first counted here (nothing metered the request) may fail to count (a body the
// upstream took but the counter cannot read, a full tokenizer pool): the event is still recorded.
async function promptTokensOf(ctx: EventContext): Promise<number> {
  try {
    return (await ctx.prompt()).promptTokens;
  } catch {
    return 0;
  }
}

export async function buildUsageEvent(outcome: MeterOutcome, ctx: EventContext, counter: PromptCounter, nowMs: number): Promise<UsageEvent> {
  const { usage, estimated } = await usageOf(outcome, ctx, counter);
  return {
    requestId: ctx.requestId,
    timeMs: nowMs,
    orgId: ctx.principal.orgId,
    teamId: ctx.principal.teamIds[0] ?? null,
    userId: ctx.principal.userId,
    keyId: ctx.principal.keyId,
    provider: ctx.model.provider,
    model: ctx.model.name,
    promptTokens: usage.promptTokens,
    cachedTokens: usage.cachedTokens,
    completionTokens: usage.completionTokens,
    reasoningTokens: usage.reasoningTokens,
    costMicros: costMicros(usage, ctx.model.price),
    status: outcome.status,
    errorCode: outcome.errorCode,
    stream: outcome.stream,
    latencyMs: outcome.latencyMs,
    ttfbMs: outcome.ttfbMs,
    estimated,
    sessionId: ctx.sessionId,
    tags: ctx.tags,
  };
}

const maxTags = 16;
const maxTagLength = 128;
const tagPattern = /^[A-Za-z0-9_.:-]+$/;

// `x-session-id: abc` and `x-tollgate-tags: feature=search,env=prod` from the caller. Bounded and
// restricted to safe characters, since they are stored with every event.
export function callerContext(headers: IncomingHttpHeaders): { sessionId: string | null; tags: Record<string, string> } {
  const rawSession = headers['x-session-id'];
  const sessionId = typeof rawSession === 'string' && rawSession.length > 0 && rawSession.length <= maxTagLength ? rawSession : null;
  const tags: Record<string, string> = {};
  const rawTags = headers['x-tollgate-tags'];
  if (typeof rawTags === 'string') {
    for (const pair of rawTags.split(',').slice(0, maxTags)) {
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (eq > 0 && name.length <= maxTagLength && value.length <= maxTagLength && tagPattern.test(name) && tagPattern.test(value)) tags[name] = value;
    }
  }
  return { sessionId, tags };
}
