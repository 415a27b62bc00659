// What every meter (text: budget-meter.ts, media: media-meter.ts) does with the budget engine's
// answers: a reserve the store could not take fails closed, a denial becomes the client's
// 429 naming the bucket (counted), and the alert levels a settle crossed are counted, logged and
// handed to alerting.
import type { Logger } from 'pino';
import type { BudgetEngine, Crossing, ReserveInput, ReserveOutcome } from '../budget/engine.js';
import { BudgetStoreUnavailableError } from '../budget/store.js';
import { GatewayError } from '../errors/catalogue.js';
import type { Metrics } from '../metrics/metrics.js';
import type { EventContext } from './usage-event.js';

export interface OutcomeDeps {
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'denials' | 'crossings'>;
  readonly onCrossing?: (crossing: Crossing, ctx: EventContext) => void;
}

export type Granted = Extract<ReserveOutcome, { ok: true }>;

const describeBucket = (b: { scope: string; scopeId: string; metric: string; window: string }): string =>
  `${b.scope} ${b.scopeId}: ${b.metric} per ${b.window.replace('_', ' ')}`;

// The granted reservation, or the GatewayError the client gets instead.
export async function reserveOrRefuse(engine: BudgetEngine, input: ReserveInput, deps: OutcomeDeps): Promise<Granted> {
  let outcome: ReserveOutcome;
  try {
    outcome = await engine.reserve(input);
  } catch (err) {
    if (err instanceof BudgetStoreUnavailableError) {
      deps.logger.error({ requestId: input.requestId, err: err.message }, 'budget store unavailable; request refused (fail closed)');
      throw new GatewayError('budget_unavailable');
    }
    throw err;
  }
  if (outcome.ok) return outcome;
  const { scope, metric, window } = outcome.bucket;
  deps.metrics.denials.inc({ code: outcome.code, scope, metric, window });
  const when = outcome.retryAfterMs === null ? 'It does not reset by itself.' : `Retry in ${Math.ceil(outcome.retryAfterMs / 1000)} s.`;
  const what = outcome.code === 'budget_exceeded' ? 'Budget exhausted' : 'Rate limit reached';
  throw new GatewayError(outcome.code, `${what} for ${describeBucket(outcome.bucket)}. ${when}`, null, outcome.headers);
}

export function reportCrossings(crossings: readonly Crossing[], ctx: EventContext, deps: OutcomeDeps): void {
  for (const crossing of crossings) {
    const { scope, metric, window } = crossing.bucket;
    deps.metrics.crossings.inc({ level: crossing.level, scope, metric, window });
    deps.logger.warn({ requestId: ctx.requestId, bucket: crossing.bucket, level: crossing.level, used: crossing.used, limit: crossing.limit }, 'budget threshold crossed');
    deps.onCrossing?.(crossing, ctx);
  }
}
