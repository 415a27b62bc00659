// One usage event per request: what the budget store's settle step appends to the usage stream
// (Redis Stream field "e" as JSON, or the in-process queue) and what the flusher writes to Postgres.
import { z } from 'zod';

const count = z.number().int().nonnegative();

export const usageEventSchema = z.object({
  requestId: z.string().min(1),
  timeMs: z.number().int().nonnegative(),
  orgId: z.string(),
  teamId: z.string().nullable(),
  userId: z.string(),
  keyId: z.string(),
  provider: z.string(),
  model: z.string(),
  promptTokens: count,
  cachedTokens: count,
  completionTokens: count,
  reasoningTokens: count,
  costMicros: count,
  status: z.number().int(),
  errorCode: z.string().nullable(),
  stream: z.boolean(),
  latencyMs: count,
  ttfbMs: count.nullable(),
  // True when any count came from Tollgate's own tokenizer rather than the provider's usage, or
  // the price from a provider's default for models the catalog does not list.
  estimated: z.boolean(),
  // True for an allowed pass-through call: recorded for the audit trail, never charged to a
  // budget. Absent means metered, so entries written before the flag existed still parse.
  unmetered: z.boolean().default(false),
  // True when the request stated no max_tokens (or its equivalents), so metering reserved the
  // catalog's output cap. Absent means false, so older entries still parse.
  maxTokensUnstated: z.boolean().default(false),
  sessionId: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
});

// What producers build (unmetered may be left out); the flusher's parse fills the default in.
export type UsageEvent = z.input<typeof usageEventSchema>;

// The flusher checks every event it reads (src/usage/stream-flusher.ts). What the gateway wrote
// is checked by hand first, a few typeof tests per field instead of zod's generic walk (which cost
// the flusher more than parsing the JSON); anything the hand check does not accept goes through
// zod, which stays the definition. The result is the schema's: known fields only, defaults filled.
export function parseUsageEvent(value: unknown): z.output<typeof usageEventSchema> | undefined {
  if (isWellFormed(value)) {
    return {
      requestId: value.requestId,
      timeMs: value.timeMs,
      orgId: value.orgId,
      teamId: value.teamId,
      userId: value.userId,
      keyId: value.keyId,
      provider: value.provider,
      model: value.model,
      promptTokens: value.promptTokens,
      cachedTokens: value.cachedTokens,
      completionTokens: value.completionTokens,
      reasoningTokens: value.reasoningTokens,
      costMicros: value.costMicros,
      status: value.status,
      errorCode: value.errorCode,
      stream: value.stream,
      latencyMs: value.latencyMs,
      ttfbMs: value.ttfbMs,
      estimated: value.estimated,
      unmetered: value.unmetered ?? false,
      maxTokensUnstated: value.maxTokensUnstated ?? false,
      sessionId: value.sessionId,
      tags: { ...value.tags },
    };
  }
  const parsed = usageEventSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const isText = (v: unknown): boolean => typeof v === 'string';
const isTextOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const isFlagOrAbsent = (v: unknown): boolean => v === undefined || typeof v === 'boolean';

function isWellFormed(v: unknown): v is UsageEvent {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.requestId === 'string' && e.requestId.length > 0 &&
    isCount(e.timeMs) && isText(e.orgId) && isTextOrNull(e.teamId) && isText(e.userId) && isText(e.keyId) && isText(e.provider) && isText(e.model) &&
    isCount(e.promptTokens) && isCount(e.cachedTokens) && isCount(e.completionTokens) && isCount(e.reasoningTokens) && isCount(e.costMicros) &&
    Number.isSafeInteger(e.status) && isTextOrNull(e.errorCode) && typeof e.stream === 'boolean' && isCount(e.latencyMs) &&
    (e.ttfbMs === null || isCount(e.ttfbMs)) && typeof e.estimated === 'boolean' && isFlagOrAbsent(e.unmetered) && isFlagOrAbsent(e.maxTokensUnstated) &&
    isTextOrNull(e.sessionId) && isTags(e.tags)
  );
}

function isTags(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const key in v) if (typeof (v as Record<string, unknown>)[key] !== 'string') return false;
  return true;
}
