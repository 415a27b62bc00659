// The ledger row of an allowed pass-through call: who called which endpoint family, and how it
// ended, flagged `unmetered` with no tokens and no cost because nothing was metered. Budget
// rebuilds skip the flagged rows, as live charging never counted these calls.
import type { UsageEvent } from '../usage/event.js';
import type { UnmeteredCall } from '../server/gateway.js';

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
    // No model served the call; the column (not null, a rollup key) names the endpoint family,
    // so reports break pass-through traffic down by family.
    model: call.family,
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
    unmetered: true,
    sessionId: null,
    tags: {},
  };
}
