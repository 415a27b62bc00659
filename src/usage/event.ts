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
