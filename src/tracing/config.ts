// The `tracing:` section of the config: OpenTelemetry traces over OTLP/HTTP JSON, off unless an
// endpoint is set.
import { z } from 'zod';

const positiveInt = z.number().int().positive();

export const tracingSchema = z
  .object({
    // The collector's base URL, e.g. http://otel-collector:4318; spans go to <url>/v1/traces.
    otlpEndpoint: z.url().optional(),
    serviceName: z.string().min(1).default('tollgate'),
    // Spans wait at most this long, or until a batch is full, before they are sent.
    flushIntervalMs: positiveInt.default(1_000),
    maxBatchSpans: positiveInt.default(512),
    // Spans beyond this many waiting are dropped (counted), so a dead collector costs bounded memory.
    maxQueuedSpans: positiveInt.default(8_192),
    exportTimeoutMs: positiveInt.default(5_000),
  })
  .prefault({});

export type TracingConfig = z.output<typeof tracingSchema>;
