// One span as the tracer records it: W3C ids in hex, nanosecond times, flat attributes.
import { randomBytes } from 'node:crypto';

export type SpanValue = string | number | boolean;

// OTLP span kinds.
export const spanKind = { internal: 1, server: 2, client: 3 } as const;

export interface FinishedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, SpanValue>>;
  readonly error: boolean;
}

// Wall-clock nanoseconds with the monotonic clock's resolution.
const epochOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
export const nowNs = (): bigint => epochOffsetNs + process.hrtime.bigint();

export const newTraceId = (): string => randomBytes(16).toString('hex');
export const newSpanId = (): string => randomBytes(8).toString('hex');

// A `traceparent` header (W3C Trace Context) names the caller's trace and span; anything
// malformed, or the all-zero ids the spec forbids, starts a new trace.
export function parseTraceparent(header: string | string[] | undefined): { traceId: string; spanId: string } | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header.trim());
  if (!match || match[1] === 'ff' || /^0+$/.test(match[2]!) || /^0+$/.test(match[3]!)) return undefined;
  return { traceId: match[2]!, spanId: match[3]! };
}
