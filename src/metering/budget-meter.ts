// The metering the request path runs: count the prompt, reserve every bucket that applies in one
// atomic call, hold the lease while the answer streams, then settle with the real usage. The
// settle step writes the usage event (Redis Stream or the embedded queue) atomically with the
// counters; crossings go to onCrossing for alerts.
import type { Logger } from 'pino';
import { metricModelLabel } from '../config/catalog.js';
import type { BudgetEngine, Crossing } from '../budget/engine.js';
import { GatewayError } from '../errors/catalogue.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PromptCount, PromptCounter } from '../tokens/prompt-counter.js';
import { reportCrossings, reserveOrRefuse } from './budget-outcome.js';
import type { Admission, Meter, MeterOutcome, MeterRequest } from './meter.js';
import { buildUsageEvent, callerContext, type EventContext } from './usage-event.js';

export interface BudgetMeterOptions {
  counter: PromptCounter;
  engine: BudgetEngine;
  logger: Logger;
  metrics: Pick<Metrics, 'denials' | 'crossings' | 'costMicros'>;
  onCrossing?: (crossing: Crossing, ctx: EventContext) => void;
  clock?: () => number;
}

export function createBudgetMeter(options: BudgetMeterOptions): Meter {
  const { counter, engine, metrics } = options;
  const clock = options.clock ?? Date.now;

  return {
    async admit(request): Promise<Admission> {
      // Counted when a budget needs the number to reserve, or at settle when the answer carried no
      // usage; a request nothing meters whose answer reports usage is never counted.
      let counted: PromptCount | Promise<PromptCount> | undefined;
      const prompt = () => (counted ??= counter.countPrompt(request.endpoint, request.body, request.model));
      const { sessionId, tags } = callerContext(request.headers);
      const choices = request.outputChoices;
      // Every choice may use the whole cap: n: 50 with max_tokens: 1000 can produce 50,000 tokens.
      const requestedMax = (request.maxOutputTokens ?? request.model.maxOutputTokens) * choices;
      const outcome = await reserveOrRefuse(
        engine,
        {
          requestId: request.requestId,
          principal: request.principal,
          sessionId,
          model: request.model,
          promptTokens: async () => (await prompt()).promptTokens,
          maxOutputTokens: requestedMax,
          serviceTier: request.body.service_tier,
          nowMs: clock(),
        },
        options,
      );
      const { reservation } = outcome;
      const release = engine.holdLease(reservation);
      const ctx: EventContext = {
        requestId: request.requestId,
        principal: request.principal,
        model: request.model,
        serviceTier: request.body.service_tier,
        prompt,
        sessionId,
        tags,
        reservedOutputTokens: reservation.maxOutputTokens,
        maxTokensUnstated: request.maxTokensUnstated ?? request.maxOutputTokens === undefined,
      };
      const settle = async (result: MeterOutcome) => {
        release();
        const event = await buildUsageEvent(result, ctx, counter, clock());
        const settled = await engine.settle(reservation, event, clock());
        if (event.costMicros > 0) metrics.costMicros.inc({ provider: event.provider, model: metricModelLabel(ctx.model) }, event.costMicros);
        reportCrossings(settled.crossings, ctx, options);
      };
      // A metered request always carries an explicit output cap, so the provider can never produce
      // more than was reserved (the catalog's cap stands in when the client set none). The cap is
      // per choice: the reserved output shared by all of them.
      const perChoice = Math.floor(outcome.maxOutputTokens / choices);
      const refusal = reservation.state === 'unmetered' ? undefined : refusalOf(request, perChoice);
      if (refusal) {
        await settle(unsent(refusal));
        throw refusal;
      }
      const cap = reservation.state === 'leased' && (outcome.clamped || request.maxOutputTokens === undefined) ? perChoice : undefined;
      return {
        ...(cap === undefined ? {} : { maxOutputTokens: cap }),
        headers: outcome.headers,
        settle,
      };
    },
  };
}

// Refusals that need a granted reservation to decide: the request is metered, but settling it
// could not see its output (background responses), or what is left cannot give every choice a token.
function refusalOf(request: MeterRequest, perChoice: number): GatewayError | undefined {
  if (request.defersOutput) {
    return new GatewayError('background_unmetered', undefined, 'background');
  }
  if (request.outputChoices > 1 && perChoice < 1) {
    return new GatewayError('budget_exceeded', `Budget too small to give each of the ${request.outputChoices} choices an output token.`, 'n');
  }
  return undefined;
}

// The outcome of a request refused after its reservation: nothing was sent, nothing is charged.
const unsent = (error: GatewayError): MeterOutcome => ({
  status: error.status,
  errorCode: error.code,
  stream: false,
  usage: undefined,
  partialUsage: undefined,
  reachedUpstream: false,
  clientGone: false,
  measured: true,
  latencyMs: 0,
  ttfbMs: null,
  deliveredText: () => '',
});

