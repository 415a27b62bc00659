// Request tracing: one server span per request, child spans for the steps that take time (count,
// reserve, upstream, settle) found through AsyncLocalStorage. With tracing off no tracer exists,
// the storage is never entered (Node enables its hooks on first use), and `traced` and `annotate`
// are one getStore() returning undefined. What spans carry is chosen here and at the call sites:
// ids, model, provider, token counts, cost, status; never prompt text, keys or query strings.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TracingConfig } from './config.js';
import { createOtlpExporter, type SpanExporter } from './otlp-json.js';
import { type FinishedSpan, newSpanId, newTraceId, nowNs, parseTraceparent, spanKind, type SpanValue } from './span.js';

interface OpenSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly root: OpenSpan | undefined;
  readonly attributes: Record<string, SpanValue>;
  readonly exporter: SpanExporter;
}

const current = new AsyncLocalStorage<OpenSpan>();

function finish(span: OpenSpan, parentSpanId: string | undefined, name: string, kind: number, startNs: bigint, error: boolean): void {
  const finished: FinishedSpan = { traceId: span.traceId, spanId: span.spanId, parentSpanId, name, kind, startNs, endNs: nowNs(), attributes: span.attributes, error };
  span.exporter.push(finished);
}

// Runs fn in a child span of the request's current span; just fn when nothing is traced (not
// wrapped in a promise of its own: the untraced request path awaits one promise fewer).
export function traced<R>(name: string, fn: () => R, kind: number = spanKind.internal): R | Promise<Awaited<R>> {
  const parent = current.getStore();
  return parent ? tracedIn(parent, name, fn, kind) : fn();
}

async function tracedIn<R>(parent: OpenSpan, name: string, fn: () => R, kind: number): Promise<Awaited<R>> {
  const span: OpenSpan = { traceId: parent.traceId, spanId: newSpanId(), root: parent.root ?? parent, attributes: {}, exporter: parent.exporter };
  const startNs = nowNs();
  let error = false;
  try {
    return await current.run(span, fn);
  } catch (err) {
    error = true;
    throw err;
  } finally {
    finish(span, parent.spanId, name, kind, startNs, error);
  }
}

// Adds attributes to the request's span (not to a child), e.g. usage known only at settle.
export function annotate(attributes: Readonly<Record<string, SpanValue | undefined>>): void {
  const span = current.getStore();
  if (!span) return;
  const target = span.root ?? span;
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) target.attributes[key] = value;
}

export interface Tracer {
  // Runs the handling of one request inside its server span; the span ends when the answer does.
  request(req: IncomingMessage, res: ServerResponse, path: string, fn: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
  readonly exporter: SpanExporter;
}

export function createTracer(config: TracingConfig, onError: (err: Error) => void): Tracer | undefined {
  if (!config.otlpEndpoint) return undefined;
  const exporter = createOtlpExporter({ ...config, otlpEndpoint: config.otlpEndpoint }, onError);
  return {
    exporter,
    request(req, res, path, fn) {
      const caller = parseTraceparent(req.headers.traceparent);
      const method = req.method ?? 'GET';
      // The path only: query strings can carry keys (?key= on Gemini routes).
      const span: OpenSpan = { traceId: caller?.traceId ?? newTraceId(), spanId: newSpanId(), root: undefined, attributes: { 'http.request.method': method, 'url.path': path }, exporter };
      const startNs = nowNs();
      res.once('close', () => {
        span.attributes['http.response.status_code'] = res.statusCode;
        finish(span, caller?.spanId, `${method} ${path}`, spanKind.server, startNs, res.statusCode >= 500);
      });
      return current.run(span, fn);
    },
    close: () => exporter.close(),
  };
}
