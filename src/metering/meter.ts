// The seam between the proxy and metering (token counting, budget reservation, settlement and
// the usage ledger). The request path calls admit() before forwarding and settle() exactly once
// afterwards; a denial is a GatewayError thrown by admit().
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { CatalogModel } from '../config/catalog.js';
import type { JsonObject } from '../providers/provider.js';
import type { Endpoint, Usage } from '../providers/types.js';

export interface MeterRequest {
  readonly requestId: string;
  readonly principal: Principal;
  readonly model: CatalogModel;
  readonly endpoint: Endpoint;
  readonly body: JsonObject;
  // From max_tokens and friends, per choice; undefined when the client left it to the provider.
  readonly maxOutputTokens: number | undefined;
  // The client stated no output cap, so the catalog's is reserved; for a translated request the
  // body above carries the cap the translation filled in. Absent: maxOutputTokens is undefined.
  readonly maxTokensUnstated?: boolean;
  // Choices generated (n, best_of): each may use the whole output cap.
  readonly outputChoices: number;
  // The output is fetched later through another route, where settle cannot see it.
  readonly defersOutput: boolean;
  readonly headers: IncomingHttpHeaders;
}

export interface MeterOutcome {
  readonly status: number;
  readonly errorCode: string | null;
  readonly stream: boolean;
  // The provider's final usage; partialUsage is a lower bound from a stream that ended early.
  readonly usage: Usage | undefined;
  readonly partialUsage: Usage | undefined;
  // False when the request never left the gateway.
  readonly reachedUpstream: boolean;
  readonly clientGone: boolean;
  // False when the output could not all be kept for counting.
  readonly measured: boolean;
  readonly latencyMs: number;
  readonly ttfbMs: number | null;
  deliveredText(): string;
}

export interface Admission {
  // Set when metering lowered the output cap (per choice) so the request cannot overspend.
  readonly maxOutputTokens?: number;
  // Added to the response whatever happens next (x-ratelimit-*).
  readonly headers: Readonly<Record<string, string>>;
  settle(outcome: MeterOutcome): Promise<void>;
}

export interface Meter {
  admit(request: MeterRequest): Promise<Admission>;
}
