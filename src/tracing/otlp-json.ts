// Finished spans to an OTLP/HTTP collector as JSON (ExportTraceServiceRequest, ids in hex, times
// in Unix nanoseconds as strings). A bounded queue sent in batches by a timer; a failed send is
// dropped and counted rather than retried, so the request path never waits on the collector.
import { request } from 'undici';
import type { TracingConfig } from './config.js';
import type { FinishedSpan, SpanValue } from './span.js';

const value = (v: SpanValue) => (typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v });
const attributes = (record: Readonly<Record<string, SpanValue>>) => Object.entries(record).map(([key, v]) => ({ key, value: value(v) }));

export function toOtlpJson(spans: readonly FinishedSpan[], serviceName: string): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes({ 'service.name': serviceName }) },
        scopeSpans: [
          {
            scope: { name: 'tollgate' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: String(s.startNs),
              endTimeUnixNano: String(s.endNs),
              attributes: attributes(s.attributes),
              status: { code: s.error ? 2 : 1 },
            })),
          },
        ],
      },
    ],
  };
}

export interface SpanExporter {
  push(span: FinishedSpan): void;
  readonly dropped: number;
  // Sends what is queued; resolves when the collector answered or gave up.
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createOtlpExporter(config: TracingConfig & { otlpEndpoint: string }, onError: (err: Error) => void): SpanExporter {
  const url = `${config.otlpEndpoint.replace(/\/$/, '')}/v1/traces`;
  let queue: FinishedSpan[] = [];
  let dropped = 0;
  let sending: Promise<void> = Promise.resolve();

  const send = async (batch: FinishedSpan[]) => {
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(toOtlpJson(batch, config.serviceName)),
        headersTimeout: config.exportTimeoutMs,
        bodyTimeout: config.exportTimeoutMs,
      });
      await res.body.dump();
      if (res.statusCode >= 300) throw new Error(`OTLP collector answered ${res.statusCode}`);
    } catch (err) {
      dropped += batch.length;
      onError(err as Error);
    }
  };
  const flush = (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue.splice(0, config.maxBatchSpans);
      sending = sending.then(() => send(batch));
    }
    return sending;
  };
  const timer = setInterval(() => void flush(), config.flushIntervalMs);
  timer.unref();

  return {
    push(span) {
      if (queue.length >= config.maxQueuedSpans) {
        dropped++;
        return;
      }
      queue.push(span);
      if (queue.length >= config.maxBatchSpans) void flush();
    },
    get dropped() {
      return dropped;
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
      queue = [];
    },
  };
}
