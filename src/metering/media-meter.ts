// Metering for the media routes (images, audio, moderations): reserve the most the request can
// cost in every bucket that applies before it is forwarded, hold the lease while it runs, then
// settle with what it did cost and write its usage event, as the text routes' budget meter does.
// Media prices are units (images, minutes, characters) rather than prompt and output tokens, so
// the reservation is handed to the engine as its token count with a price per token that makes
// exactly its cost (reservationModel): no bucket is clamped, and settle charges the real figures.
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { BudgetEngine, Crossing } from '../budget/engine.js';
import { metricModelLabel, type CatalogModel } from '../config/catalog.js';
import type { Metrics } from '../metrics/metrics.js';
import type { UsageEvent } from '../usage/event.js';
import { reportCrossings, reserveOrRefuse } from './budget-outcome.js';
import type { MediaCharge, SettledCharge } from './media-price.js';
import { callerContext, type EventContext, usageEvent } from './usage-event.js';

export interface MediaMeterRequest {
  readonly requestId: string;
  readonly principal: Principal;
  readonly model: CatalogModel;
  // The worst case, from the request alone (src/metering/media-price.ts).
  readonly reserve: MediaCharge;
  readonly headers: IncomingHttpHeaders;
}

export interface MediaOutcome {
  readonly status: number;
  readonly errorCode: string | null;
  readonly stream: boolean;
  // What the provider bills: undefined when it did not take the request (refused, failed, never sent).
  readonly settled: SettledCharge | undefined;
  readonly latencyMs: number;
  readonly ttfbMs: number | null;
}

export interface MediaAdmission {
  readonly headers: Readonly<Record<string, string>>;
  settle(outcome: MediaOutcome): Promise<void>;
}

export interface MediaMeter {
  // Throws GatewayError budget_exceeded / rate_limited / budget_unavailable on refusal.
  admit(request: MediaMeterRequest): Promise<MediaAdmission>;
}

export interface MediaMeterOptions {
  engine: BudgetEngine;
  logger: Logger;
  metrics: Pick<Metrics, 'denials' | 'crossings' | 'costMicros'>;
  onCrossing?: (crossing: Crossing, ctx: EventContext) => void;
  clock?: () => number;
}

const perM = 1_000_000;

// The engine reserves promptTokens x the model's dearest input price per 1M tokens. One token
// (at least) carrying the whole cost reserves exactly ceil(tokens x price / 1M) = the cost, give
// or take one micro-dollar; no output tokens means nothing can be clamped away.
export function reservationModel(model: CatalogModel, charge: MediaCharge): { model: CatalogModel; tokens: number } {
  const tokens = Math.max(1, charge.promptTokens + charge.completionTokens);
  const perMTok = Math.ceil((charge.costMicros * perM) / tokens);
  const price = { inputPerMTok: perMTok, cachedInputPerMTok: perMTok, cacheWritePerMTok: perMTok, cacheWrite1hPerMTok: perMTok, outputPerMTok: 0 };
  return { model: { ...model, price }, tokens };
}

export function createMediaMeter(options: MediaMeterOptions): MediaMeter {
  const { engine, metrics } = options;
  const clock = options.clock ?? Date.now;

  return {
    async admit(request) {
      const { sessionId, tags } = callerContext(request.headers);
      const reserving = reservationModel(request.model, request.reserve);
      const outcome = await reserveOrRefuse(
        engine,
        { requestId: request.requestId, principal: request.principal, sessionId, model: reserving.model, promptTokens: () => reserving.tokens, maxOutputTokens: 0, nowMs: clock() },
        options,
      );
      const { reservation } = outcome;
      const release = engine.holdLease(reservation);
      const ctx: EventContext = {
        requestId: request.requestId,
        principal: request.principal,
        model: request.model,
        prompt: () => ({ promptTokens: request.reserve.promptTokens, estimated: true, encoding: request.model.encoding }),
        sessionId,
        tags,
        reservedOutputTokens: request.reserve.completionTokens,
      };
      return {
        headers: outcome.headers,
        async settle(result) {
          release();
          const event = mediaUsageEvent(result, ctx, clock());
          const settled = await engine.settle(reservation, event, clock());
          if (event.costMicros > 0) metrics.costMicros.inc({ provider: event.provider, model: metricModelLabel(request.model) }, event.costMicros);
          reportCrossings(settled.crossings, ctx, options);
        },
      };
    },
  };
}

function mediaUsageEvent(result: MediaOutcome, ctx: EventContext, nowMs: number): UsageEvent {
  const charge = result.settled?.charge;
  return usageEvent(ctx, nowMs, {
    promptTokens: charge?.promptTokens ?? 0,
    cachedTokens: charge?.cachedTokens ?? 0,
    completionTokens: charge?.completionTokens ?? 0,
    reasoningTokens: 0,
    costMicros: charge?.costMicros ?? 0,
    status: result.status,
    errorCode: result.errorCode,
    stream: result.stream,
    latencyMs: result.latencyMs,
    ttfbMs: result.ttfbMs,
    estimated: (result.settled?.estimated ?? false) || ctx.model.priceEstimated === true,
    unmetered: false,
  });
}
