// Realtime websocket sessions driven by the official openai SDK (openai/realtime/ws) through a
// real gateway (embedded budget twin + PGlite ledger) against a mock of OpenAI's realtime socket:
// each response is settled into the ledger at its own cost, a session is refused over budget
// before the provider is contacted, a budget spent mid-session closes the session with an error
// event, and the Tollgate key never reaches the provider.
import { connect } from 'node:net';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { type MockRealtime, startMockRealtime } from '../../bench/mock-realtime.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../security/raw-http.js';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

let mock: MockUpstream;
let realtime: MockRealtime;
let gw: TestGateway;

// gpt-realtime's catalog prices in micro-USD per 1M tokens (OpenAI's published list prices).
const price = { textIn: 4_000_000, textCached: 400_000, audioIn: 32_000_000, audioCached: 400_000, textOut: 16_000_000, audioOut: 64_000_000 };
// One response's worst case: the 32K context window at the dearest input rate (audio) and the
// 4,096-token output cap at the dearest output rate (audio).
const reserveMicros = Math.ceil((32_000 * price.audioIn + 4_096 * price.audioOut) / 1_000_000);
const costPerMonthMicros = 1_500_000;

beforeAll(async () => {
  mock = await startMockUpstream();
  realtime = await startMockRealtime({ refuseModels: ['gpt-realtime-mini'] });
  gw = await startTestGateway({
    mock,
    env: { OPENAI_BASE_URL: `${realtime.url}/v1` },
    overrides: { 'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'costMicros', window: 'month', limit: costPerMonthMicros }] },
  });
});

afterAll(async () => {
  await gw?.close();
  await realtime?.close();
  await mock?.close();
});

const port = () => Number(new URL(gw.url).port);

// The SDK always dials wss://; the gateway here speaks plain HTTP, so the socket is a plain TCP
// connection (as behind a TLS-terminating proxy). Everything else is the SDK's own.
async function session(key: string, model = 'gpt-realtime') {
  const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1` });
  const rt = new OpenAIRealtimeWS({ model, options: { createConnection: () => connect(port(), '127.0.0.1') } }, client);
  const errors: Array<{ code?: string; message: string }> = [];
  rt.on('error', (err) => errors.push({ code: err.error?.code ?? undefined, message: err.message }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => rt.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { rt, errors, closed };
}

const next = (rt: OpenAIRealtimeWS, type: 'session.created' | 'response.done' | 'response.created') =>
  new Promise<Record<string, unknown>>((resolve) => rt.once(type, (event: unknown) => resolve(event as Record<string, unknown>)));

type Row = { request_id: string; model: string; prompt_tokens: number; cached_tokens: number; completion_tokens: number; cost_micros: number; estimated: boolean; status: number };
async function ledger(userId: string): Promise<Row[]> {
  const result = await gw.app.database.db.execute(
    sql`select request_id, model, prompt_tokens, cached_tokens, completion_tokens, cost_micros, estimated, status from usage_events where user_id = ${userId} order by time, request_id`,
  );
  return (result as unknown as { rows: Row[] }).rows.map((r) => ({ ...r, prompt_tokens: Number(r.prompt_tokens), cached_tokens: Number(r.cached_tokens), completion_tokens: Number(r.completion_tokens), cost_micros: Number(r.cost_micros), status: Number(r.status) }));
}
const settled = async (userId: string, rows: number) => {
  await expect.poll(async () => (await ledger(userId)).length, { timeout: 10_000 }).toBe(rows);
  return ledger(userId);
};

const upgradeHeaders = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };

describe('a realtime session', () => {
  it('relays both ways and settles each response at its own cost from response.done', async () => {
    const { key, userId } = await gw.newKey({ user: 'rt-ledger' });
    const { rt, errors, closed } = await session(key);
    const created = await next(rt, 'session.created');
    expect(created).toMatchObject({ type: 'session.created', session: { model: 'gpt-realtime' } });

    rt.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.' } });
    rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello' }] } });
    const first = next(rt, 'response.done');
    rt.send({ type: 'response.create', response: { metadata: { text_in: '1000', audio_in: '2000', cached_text: '500', cached_audio: '1000', text_out: '100', audio_out: '400' } } });
    expect(await first).toMatchObject({ response: { status: 'completed', usage: { input_tokens: 3000, output_tokens: 500 } } });
    const second = next(rt, 'response.done');
    rt.send({ type: 'response.create' });
    await second;
    rt.close();
    expect((await closed).code).toBe(1000);
    expect(errors).toEqual([]);

    // What the client sent arrived upstream as sent, in order.
    const upstream = realtime.sessions.at(-1)!;
    expect(upstream.events.map((e) => e.type)).toEqual(['session.update', 'conversation.item.create', 'response.create', 'response.create']);
    expect(upstream.path).toBe('/v1/realtime?model=gpt-realtime');

    const rows = await settled(userId, 3);
    const firstCost = Math.ceil((500 * price.textIn + 500 * price.textCached + 1000 * price.audioIn + 1000 * price.audioCached + 100 * price.textOut + 400 * price.audioOut) / 1_000_000);
    const secondCost = Math.ceil((120 * price.textIn + 300 * price.audioIn + 40 * price.textOut + 200 * price.audioOut) / 1_000_000);
    expect(rows[0]).toMatchObject({ model: 'gpt-realtime', prompt_tokens: 3000, cached_tokens: 1500, completion_tokens: 500, cost_micros: firstCost, estimated: false, status: 200 });
    expect(rows[1]).toMatchObject({ prompt_tokens: 420, cached_tokens: 0, completion_tokens: 240, cost_micros: secondCost, estimated: false, status: 200 });
    // The reservation held for a third response is released at the end: nothing charged.
    expect(rows[2]).toMatchObject({ prompt_tokens: 0, completion_tokens: 0, cost_micros: 0 });
    const sessionId = rows[0]!.request_id.split(':')[0];
    expect(rows.map((r) => r.request_id)).toEqual([`${sessionId}:1`, `${sessionId}:2`, `${sessionId}:3`]);
  });

  it('closes with budget_exceeded when the budget cannot cover another response, and then refuses before the provider', async () => {
    const { key, userId } = await gw.newKey({ user: 'rt-exhausted' });
    const { rt, errors, closed } = await session(key);
    await next(rt, 'session.created');
    // 10,000 audio tokens in: 320,000 micro-USD, after which 1,500,000 cannot hold another worst case.
    const done = next(rt, 'response.done');
    rt.send({ type: 'response.create', response: { metadata: { text_in: '0', audio_in: '10000', text_out: '0', audio_out: '0' } } });
    await done;
    const end = await closed;
    expect(end).toEqual({ code: 1008, reason: 'budget_exceeded' });
    expect(errors).toEqual([expect.objectContaining({ code: 'budget_exceeded' })]);
    const rows = await settled(userId, 1);
    expect(rows[0]).toMatchObject({ cost_micros: 320_000, estimated: false });
    expect(costPerMonthMicros - 320_000).toBeLessThan(reserveMicros);

    // A new session cannot reserve one response: 429 before anything reaches the provider.
    const sessionsBefore = realtime.sessions.length;
    const refusedBefore = realtime.refused;
    const raw = await rawRequest(gw.url, 'GET', '/v1/realtime?model=gpt-realtime', { authorization: `Bearer ${key}`, ...upgradeHeaders });
    expect(raw.status).toBe(429);
    expect(raw.json).toMatchObject({ error: { code: 'budget_exceeded' } });
    const refused = await session(key);
    expect((await refused.closed).code).toBe(1006);
    expect(refused.errors[0]?.message).toContain('429');
    expect(realtime.sessions.length).toBe(sessionsBefore);
    expect(realtime.refused).toBe(refusedBefore);
  });

  it('charges a response cut off by the client its reservation, marked estimated', async () => {
    const { key, userId } = await gw.newKey({ user: 'rt-cut' });
    const { rt, closed } = await session(key);
    await next(rt, 'session.created');
    const started = next(rt, 'response.created');
    rt.send({ type: 'response.create', response: { metadata: { hang: '1' } } });
    await started;
    rt.close();
    await closed;
    const rows = await settled(userId, 1);
    expect(rows[0]).toMatchObject({ cost_micros: reserveMicros, estimated: true, status: 0 });
  });
});

describe('a provider that refuses the session', () => {
  it('answers 502 upstream_error and gives the reservation back', async () => {
    const { key, userId } = await gw.newKey({ user: 'rt-refused' });
    const res = await rawRequest(gw.url, 'GET', '/v1/realtime?model=gpt-realtime-mini', { authorization: `Bearer ${key}`, ...upgradeHeaders });
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ error: { code: 'upstream_error' } });
    const rows = await settled(userId, 1);
    expect(rows[0]).toMatchObject({ cost_micros: 0, status: 502 });
    // gpt-realtime-mini's hold (402,000) was given back: had it stayed, 1,098,000 would be left,
    // less than a gpt-realtime session's worst case, and this would be refused.
    const { rt, closed } = await session(key);
    await next(rt, 'session.created');
    rt.close();
    await closed;
  });
});

describe('the Tollgate key never reaches the provider', () => {
  it('a browser key sent as a subprotocol authenticates and is not forwarded', async () => {
    const { key } = await gw.newKey({ user: 'rt-browser' });
    const ws = new WebSocket(`ws://127.0.0.1:${port()}/v1/realtime?model=gpt-realtime`, ['realtime', `openai-insecure-api-key.${key}`, 'openai-beta.realtime-v1']);
    const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(data.toString()) as Record<string, unknown>));
      ws.once('error', reject);
    });
    expect(first).toMatchObject({ type: 'session.created' });
    expect(ws.protocol).toBe('realtime');
    ws.close();
    const upstream = realtime.sessions.at(-1)!;
    expect(upstream.protocols).toEqual(['realtime', 'openai-beta.realtime-v1']);
    expect(upstream.headers.authorization).toBe('Bearer sk-upstream-openai');
    expect(JSON.stringify(upstream.headers)).not.toContain(key);
  });

  it('a key in the Authorization header is replaced by the provider key', async () => {
    const { key } = await gw.newKey({ user: 'rt-header' });
    const { rt, closed } = await session(key);
    await next(rt, 'session.created');
    rt.close();
    await closed;
    const upstream = realtime.sessions.at(-1)!;
    expect(upstream.headers.authorization).toBe('Bearer sk-upstream-openai');
    expect(JSON.stringify(upstream.headers)).not.toContain(key);
  });
});

describe('refusals before the handshake', () => {
  it.each([
    ['no key', {}, '/v1/realtime?model=gpt-realtime', 401, 'missing_api_key'],
    ['a chat model', 'key', '/v1/realtime?model=gpt-4o-mini', 400, 'invalid_request'],
    ['no model', 'key', '/v1/realtime', 400, 'invalid_request'],
    ['an unknown model', 'key', '/v1/realtime?model=gpt-nope', 404, 'model_not_found'],
  ] as const)('%s', async (_name, auth, target, status, code) => {
    const before = realtime.sessions.length;
    const headers = auth === 'key' ? { authorization: `Bearer ${gw.key}`, ...upgradeHeaders } : upgradeHeaders;
    const res = await rawRequest(gw.url, 'GET', target, headers);
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ error: { code } });
    expect(realtime.sessions.length).toBe(before);
  });

  it('a plain GET without the upgrade is told to upgrade', async () => {
    const res = await rawRequest(gw.url, 'GET', '/v1/realtime?model=gpt-realtime', { authorization: `Bearer ${gw.key}` });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'invalid_request' } });
    expect(res.headers['x-request-id']).toBeTruthy();
  });
});

describe('bounds', () => {
  let small: TestGateway;
  beforeAll(async () => {
    small = await startTestGateway({ mock, env: { OPENAI_BASE_URL: `${realtime.url}/v1` }, overrides: { 'realtime.maxFrameBytes': 4096, 'realtime.idleTimeoutMs': 400 } });
  });
  afterAll(async () => small?.close());

  const open = async (key: string) => {
    const ws = new WebSocket(`ws://127.0.0.1:${new URL(small.url).port}/v1/realtime?model=gpt-realtime`, { headers: { authorization: `Bearer ${key}` } });
    const closed = new Promise<{ code: number; ms: number }>((resolve) => {
      const openedMs = Date.now();
      ws.on('close', (code) => resolve({ code, ms: Date.now() - openedMs }));
    });
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('message', resolve));
    return { ws, closed, upstream: realtime.sessions.at(-1)! };
  };

  it('closes a session whose client sends a frame past realtime.maxFrameBytes (1009), before it reaches the provider', async () => {
    const { key } = await small.newKey({ user: 'rt-frame' });
    const { ws, closed, upstream } = await open(key);
    ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: 'A'.repeat(8192) }));
    expect((await closed).code).toBe(1009);
    await expect.poll(() => upstream.closed).toBeDefined();
    expect(upstream.events).toEqual([]);
  });

  it('closes a session idle in both directions past realtime.idleTimeoutMs and releases its hold', async () => {
    const { key, userId } = await small.newKey({ user: 'rt-idle' });
    const { closed, upstream } = await open(key);
    const end = await closed;
    expect(end.code).toBe(1000);
    expect(end.ms).toBeGreaterThanOrEqual(400);
    await expect.poll(() => upstream.closed).toBeDefined();
    await expect.poll(async () => (await small.app.database.db.execute(sql`select cost_micros from usage_events where user_id = ${userId}`) as unknown as { rows: unknown[] }).rows.length, { timeout: 10_000 }).toBe(1);
  });
});
