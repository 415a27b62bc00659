// The ledger row of an allowed pass-through call: who called which endpoint family, and how it
// ended, with no tokens and no cost because nothing was metered. The model column carries
// `unmetered:<family>` until the usage event has a flag of its own.
import type { UsageEvent } from '../usage/event.js';
import type { UnmeteredCall } from '../server/gateway.js';

export const unmeteredModelPrefix = 'unmetered:';

export function unmeteredUsageEvent(call: UnmeteredCall, nowMs: number): UsageEvent {
  const { principal } = call;
  return {
    requestId: call.requestId,
    timeMs: nowMs,
    orgId: principal.orgId,
    teamId: principal.teamIds[0] ?? null,
    userId: principal.userId,
    keyId: principal.keyId,
    provider: call.provider,
    model: `${unmeteredModelPrefix}${call.family}`,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    reasoningTokens: 0,
    costMicros: 0,
    status: call.status,
    errorCode: call.status >= 400 ? 'upstream_status' : null,
    stream: false,
    latencyMs: call.latencyMs,
    ttfbMs: null,
    estimated: false,
    sessionId: null,
    tags: {},
  };
}
