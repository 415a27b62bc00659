// OpenTelemetry traces over OTLP/HTTP JSON, received by a plain HTTP server standing in for the
// collector: one server span per request continuing the caller's traceparent, child spans for
// count, reserve, upstream and settle, GenAI semantic-convention attributes, and never the prompt
// text, the key or the upstream credential.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { tracingSchema } from '../../src/tracing/config.js';
import { createTracer } from '../../src/tracing/tracer.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

const attr = (span: OtlpSpan, key: string) => {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v && (v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue)));
};

describe('OpenTelemetry tracing', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let collector: Server;
  const bodies: string[] = [];
  const spans: OtlpSpan[] = [];

  beforeAll(async () => {
    collector = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        bodies.push(text);
        if (req.url === '/v1/traces' && req.headers['content-type'] === 'application/json') {
          const payload = JSON.parse(text) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
          for (const rs of payload.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const port = (collector.address() as { port: number }).port;
    mock = await startMockUpstream();
    gw = await startTestGateway({
      mock,
      overrides: {
        'tracing.otlpEndpoint': `http://127.0.0.1:${port}`,
        'tracing.flushIntervalMs': 100,
        // A budget makes the gateway count the prompt to reserve it.
        'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 10_000_000 }],
      },
    });
  }, 600_000);

  afterAll(async () => {
    await gw?.close();
    await mock?.close();
    await new Promise((resolve) => collector?.close(resolve));
  });

  it('sends one server span per request with count, reserve, upstream and settle under it', async () => {
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const secret = 'the-launch-code-is-swordfish';
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json', traceparent: `00-${callerTrace}-${callerSpan}-01` },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: secret }] }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.text();

    await expect.poll(() => spans.some((s) => s.kind === 2 && s.traceId === callerTrace), { timeout: 15_000, interval: 100 }).toBe(true);
    await expect.poll(() => spans.filter((s) => s.traceId === callerTrace).map((s) => s.name).sort(), { timeout: 15_000, interval: 100 }).toEqual(
      expect.arrayContaining(['POST /v1/chat/completions', 'count', 'reserve', 'upstream', 'settle']),
    );
    const trace = spans.filter((s) => s.traceId === callerTrace);
    const root = trace.find((s) => s.kind === 2)!;
    expect(root).toMatchObject({ name: 'POST /v1/chat/completions', parentSpanId: callerSpan });
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const byName = (name: string) => trace.find((s) => s.name === name)!;
    for (const name of ['reserve', 'upstream', 'settle']) expect(byName(name).parentSpanId).toBe(root.spanId);
    // The prompt is counted while reserving (the budget needs the number).
    expect(byId.get(byName('count').parentSpanId!)?.name).toMatch(/^(reserve|POST \/v1\/chat\/completions)$/);
    expect(byName('upstream').kind).toBe(3);
    for (const s of trace) expect(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano)).toBe(true);

    expect(attr(root, 'gen_ai.system')).toBe('openai');
    expect(attr(root, 'gen_ai.request.model')).toBe('gpt-4o-mini');
    expect(attr(root, 'gen_ai.usage.input_tokens')).toBeGreaterThan(0);
    expect(attr(root, 'gen_ai.usage.output_tokens')).toBeGreaterThan(0);
    expect(attr(root, 'tollgate.cost_micros')).toBeGreaterThan(0);
    expect(attr(root, 'http.response.status_code')).toBe(200);

    const everything = bodies.join('\n');
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(gw.key);
    expect(everything).not.toContain(gw.key.slice(8));
    expect(everything).not.toContain('sk-upstream-openai');
  });

  it('starts a new trace when the caller sends none, and marks refused requests with their status', async () => {
    const before = new Set(spans.map((s) => s.spanId));
    const res = await request(`${gw.url}/v1/chat/completions?key=should-not-appear`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-wrong', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.statusCode).toBe(401);
    await res.body.text();
    await expect.poll(() => spans.find((s) => !before.has(s.spanId) && s.kind === 2 && attr(s, 'http.response.status_code') === 401), { timeout: 15_000, interval: 100 }).toBeTruthy();
    const root = spans.find((s) => !before.has(s.spanId) && s.kind === 2 && attr(s, 'http.response.status_code') === 401)!;
    expect(root.parentSpanId).toBeUndefined();
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(attr(root, 'url.path')).toBe('/v1/chat/completions');
    expect(bodies.join('\n')).not.toContain('should-not-appear');
    expect(bodies.join('\n')).not.toContain('sk-wrong');
  });

  it('is off by default: no tracer, nothing to export', () => {
    expect(createTracer(tracingSchema.parse({}), () => {})).toBeUndefined();
  });
});
