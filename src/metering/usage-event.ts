// Builds the usage event of a finished request: the provider's final usage when it sent one,
// otherwise Tollgate's own estimate (marked estimated), priced in integer micro-USD from the
// catalog. The estimate never charges less than what was provably consumed: see usageOf.
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { CatalogModel } from '../config/catalog.js';
import { costMicros, priceFor } from '../pricing/cost.js';
import type { Usage } from '../providers/types.js';
import type { PromptCount, PromptCounter } from '../tokens/prompt-counter.js';
import type { UsageEvent } from '../usage/event.js';
import type { MeterOutcome } from './meter.js';

export interface EventContext {
  readonly requestId: string;
  readonly principal: Principal;
  readonly model: CatalogModel;
  // The request body's service_tier (flex, priority), which can change the price.
  readonly serviceTier?: unknown;
  // Counted on first call (reserve calls it when a budget applies) and remembered.
  readonly prompt: () => PromptCount | Promise<PromptCount>;
  readonly sessionId: string | null;
  readonly tags: Readonly<Record<string, string>>;
  // The output tokens the reservation allowed, all choices together.
  readonly reservedOutputTokens: number;
  // The request stated no max_tokens: the reservation took the catalog's output cap.
  readonly maxTokensUnstated?: boolean;
}

const zero: Usage = { promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0, reasoningTokens: 0 };

// The provider bills a request it accepted (2xx/3xx), and one the client walked away from after it
// was sent; not one it refused or failed before answering, nor one that never left the gateway.
const billed = (o: MeterOutcome): boolean =>
  o.reachedUpstream && ((o.status >= 200 && o.status < 400) || (o.status === 0 && o.errorCode === 'client_disconnected'));

const maxUsage = (a: Usage, b: Usage | undefined): Usage =>
  b
    ? {
        promptTokens: Math.max(a.promptTokens, b.promptTokens),
        cachedTokens: b.cachedTokens,
        cacheWriteTokens: b.cacheWriteTokens,
        cacheWrite1hTokens: b.cacheWrite1hTokens,
        completionTokens: Math.max(a.completionTokens, b.completionTokens),
        reasoningTokens: b.reasoningTokens,
      }
    : a;

// Without the provider's final usage, a billed request is charged the counted prompt plus the
// counted delivered text, raised to any partial usage the stream reported (Anthropic's
// message_start); and the whole reserved output when the output could not all be counted, or
// when the model bills hidden reasoning and the client left before its usage arrived.
async function estimatedUsage(outcome: MeterOutcome, ctx: EventContext, counter: PromptCounter): Promise<Usage> {
  const [promptTokens, completion] = await Promise.all([promptTokensOf(ctx), counter.countCompletion(outcome.deliveredText(), ctx.model)]);
  const counted = maxUsage({ ...zero, promptTokens, completionTokens: completion.tokens }, outcome.partialUsage);
  const hidden = !outcome.measured || (outcome.clientGone && ctx.model.reasoning);
  const completionTokens = hidden ? Math.max(counted.completionTokens, ctx.reservedOutputTokens) : counted.completionTokens;
  return { ...counted, completionTokens };
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

// What an event says about the request's outcome; usageEvent adds who and what it was about.
export type EventOutcome = Omit<UsageEvent, 'requestId' | 'timeMs' | 'orgId' | 'teamId' | 'userId' | 'keyId' | 'provider' | 'model' | 'sessionId' | 'tags'>;

// One object literal, the same for every kind of metered request. Not `{ ...subject, ...fields }`:
// V8 builds a spread followed by more properties on a slow generic path (bench/cpu.ts found the
// usage event alone costing more CPU than the JSON parse of the answer).
export function usageEvent(ctx: EventContext, nowMs: number, o: EventOutcome): UsageEvent {
  return {
    requestId: ctx.requestId,
    timeMs: nowMs,
    orgId: ctx.principal.orgId,
    teamId: ctx.principal.teamIds[0] ?? null,
    userId: ctx.principal.userId,
    keyId: ctx.principal.keyId,
    provider: ctx.model.provider,
    model: ctx.model.name,
    promptTokens: o.promptTokens,
    cachedTokens: o.cachedTokens,
    completionTokens: o.completionTokens,
    reasoningTokens: o.reasoningTokens,
    costMicros: o.costMicros,
    status: o.status,
    errorCode: o.errorCode,
    stream: o.stream,
    latencyMs: o.latencyMs,
    ttfbMs: o.ttfbMs,
    estimated: o.estimated,
    unmetered: o.unmetered ?? false,
    maxTokensUnstated: o.maxTokensUnstated ?? false,
    sessionId: ctx.sessionId,
    tags: ctx.tags,
  };
}

// The tier the provider reports serving the request at, else the one the request asked for.
const servedTier = (outcome: MeterOutcome, ctx: EventContext): unknown => outcome.usage?.serviceTier ?? outcome.partialUsage?.serviceTier ?? ctx.serviceTier;

// Synchronous when the provider reported usage or nothing was billed (most requests): the
// request path awaits a promise only when it has tokens to count.
export function buildUsageEvent(outcome: MeterOutcome, ctx: EventContext, counter: PromptCounter, nowMs: number): UsageEvent | Promise<UsageEvent> {
  if (outcome.usage) return eventOf(outcome, ctx, nowMs, outcome.usage, false);
  if (!billed(outcome)) return eventOf(outcome, ctx, nowMs, zero, false);
  return estimatedUsage(outcome, ctx, counter).then((usage) => eventOf(outcome, ctx, nowMs, usage, true));
}

function eventOf(outcome: MeterOutcome, ctx: EventContext, nowMs: number, usage: Usage, estimated: boolean): UsageEvent {
  return usageEvent(ctx, nowMs, {
    promptTokens: usage.promptTokens,
    cachedTokens: usage.cachedTokens,
    completionTokens: usage.completionTokens,
    reasoningTokens: usage.reasoningTokens,
    costMicros: costMicros(usage, priceFor(ctx.model.price, { serviceTier: servedTier(outcome, ctx), promptTokens: usage.promptTokens })),
    status: outcome.status,
    errorCode: outcome.errorCode,
    stream: outcome.stream,
    latencyMs: outcome.latencyMs,
    ttfbMs: outcome.ttfbMs,
    // A model priced at its provider's default for unlisted models is an estimate too.
    estimated: estimated || ctx.model.priceEstimated === true,
    unmetered: false,
    maxTokensUnstated: ctx.maxTokensUnstated ?? false,
  });
}

const maxTags = 16;
const maxTagLength = 128;
const tagPattern = /^[A-Za-z0-9_.:-]+$/;
// Tags the gateway itself writes (tollgate_cache: hit); a caller cannot forge them.
const reservedTagPrefix = 'tollgate_';

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
      if (eq > 0 && name.length <= maxTagLength && value.length <= maxTagLength && tagPattern.test(name) && tagPattern.test(value) && !name.startsWith(reservedTagPrefix)) tags[name] = value;
    }
  }
  return { sessionId, tags };
}
