// The spans around metering, added by wrapping the prompt counter and the budget engine when
// tracing is on (app.ts), so neither module knows about tracing. The settle span also puts the
// request's GenAI semantic-convention attributes on the server span: they are known only then.
import type { BudgetEngine } from '../budget/engine.js';
import type { PromptCounter } from '../tokens/prompt-counter.js';
import { annotate, traced } from './tracer.js';

export const tracePromptCounter = (counter: PromptCounter): PromptCounter => ({
  countPrompt: (endpoint, body, model) => traced('count', () => counter.countPrompt(endpoint, body, model)),
  countCompletion: (text, model) => traced('count completion', () => counter.countCompletion(text, model)),
});

export const traceBudgetEngine = (engine: BudgetEngine): BudgetEngine => ({
  ...engine,
  reserve: (input) => traced('reserve', () => engine.reserve(input)),
  settle(reservation, event, nowMs) {
    annotate({
      'gen_ai.system': event.provider,
      'gen_ai.request.model': event.model,
      'gen_ai.usage.input_tokens': event.promptTokens,
      'gen_ai.usage.output_tokens': event.completionTokens,
      'tollgate.cost_micros': event.costMicros,
    });
    return traced('settle', () => engine.settle(reservation, event, nowMs));
  },
});
