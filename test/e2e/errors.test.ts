// Every error a client can meet on the request path: status, provider-shaped body, stable code,
// and the gateway's x-request-id.
import { request as httpRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { errorCatalogue, GatewayError } from '../../src/errors/catalogue.js';
import { errorDialects } from '../../src/providers/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
let gw: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({
    mock,
    overrides: {
      'server.maxBodyBytes': 4096,
      'upstream.firstByteTimeoutMs': 400,
      'upstream.idleTimeoutMs': 400,
      // Pass-through is denied by default; these tests opt in to one plain and one websocket route
      // (a made-up path: /v1/realtime itself is metered, test/e2e/realtime.test.ts).
      'server.passthrough': {
        mode: 'allowlist',
        routes: [
          { method: 'POST', path: '/v1/files', family: 'files', cost: 'free', creates: 'files' },
          { method: 'GET', path: '/v1/realtime/ws', family: 'realtime', cost: 'paid', websocket: true },
        ],
      },
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${gw.key}` }) {
  const res = await request(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, headers: res.headers, json };
}

function upgrade(headers: Record<string, string>): Promise<{ status: number; socket?: Duplex }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${gw.url}/v1/realtime/ws?model=gpt-4o-realtime`, { headers: { connection: 'Upgrade', upgrade: 'websocket', ...headers } });
    req.on('upgrade', (res, socket) => resolve({ status: res.statusCode ?? 0, socket }));
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('error', reject);
    req.end();
  });
}

const chat = (content = 'hi', extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra });

describe('bad requests', () => {
  it('rejects malformed JSON with 400 invalid_json', async () => {
    const res = await post('/v1/chat/completions', '{"model": "gpt-4o-mini",');
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'invalid_json', type: 'invalid_request_error' } });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects a body without a model with 400 invalid_request naming the field', async () => {
    const res = await post('/v1/chat/completions', { messages: [] });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'invalid_request', param: 'model' } });
  });

  it('rejects an oversized body with 413 body_too_large', async () => {
    const res = await post('/v1/chat/completions', chat('x'.repeat(10_000)));
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ error: { code: 'body_too_large' } });
  });

  it('rejects an unknown model with 404 model_not_found', async () => {
    const res = await post('/v1/chat/completions', { ...chat(), model: 'gpt-nonexistent' });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: { code: 'model_not_found', param: 'model' } });
  });

  it('answers an unknown route with 404 route_not_found', async () => {
    const res = await post('/nope', {});
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: { code: 'route_not_found' } });
  });

  it('answers GET on a metered route with 405', async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, { headers: { authorization: `Bearer ${gw.key}` } });
    expect(res.statusCode).toBe(405);
    expect(await res.body.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
  });
});

describe('keys', () => {
  it('refuses a request without a key', async () => {
    const res = await post('/v1/chat/completions', chat(), {});
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: { code: 'missing_api_key', type: 'authentication_error' } });
  });

  it('refuses an unknown key', async () => {
    const res = await post('/v1/chat/completions', chat(), { authorization: 'Bearer tg-unknown' });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: { code: 'invalid_api_key' } });
  });

  it('refuses a revoked key', async () => {
    const created = await gw.newKey({ user: 'revoked-user' });
    expect((await post('/v1/chat/completions', chat(), { 'x-api-key': created.key })).status).toBe(200);
    await gw.admin.call('POST', `/keys/${created.id}/revoke`);
    await gw.app.principals.apply({ kind: 'key', id: created.id });
    const res = await post('/v1/chat/completions', chat(), { 'x-api-key': created.key });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: { code: 'revoked_api_key' } });
  });

  it('refuses an expired key', async () => {
    const created = await gw.newKey({ user: 'expired-user', expiresAt: new Date(Date.now() - 1000) });
    const res = await post('/v1/chat/completions', chat(), { authorization: `Bearer ${created.key}` });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: { code: 'expired_api_key' } });
  });

  it('refuses a model outside the key allow list with 403', async () => {
    const created = await gw.newKey({ user: 'limited', allowedModels: ['gpt-4o'] });
    const res = await post('/v1/chat/completions', chat(), { authorization: `Bearer ${created.key}` });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ error: { code: 'model_not_allowed', type: 'permission_error' } });
  });
});

describe('upstream failures', () => {
  it('relays an upstream error body as the provider sent it, with the gateway request id', async () => {
    const res = await post('/v1/chat/completions', chat('[mock status=429]'));
    expect(res.status).toBe(429);
    expect(res.json).toEqual({ error: { message: 'mock upstream error 429', type: 'rate_limit_error', param: null, code: 'mock_429' } });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-upstream-request-id']).toBe('req_upstream_mock');
  });

  it('relays an Anthropic upstream 500 in its own shape', async () => {
    const res = await post('/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: '[mock status=500]' }] }, { 'x-api-key': gw.key, 'anthropic-version': '2023-06-01' });
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });

  it('answers 504 upstream_timeout when the upstream sends no headers in time', async () => {
    const res = await post('/v1/chat/completions', chat('[mock hang]'));
    expect(res.status).toBe(504);
    expect(res.json).toMatchObject({ error: { code: 'upstream_timeout', type: 'timeout_error' } });
  });

  it('cuts the client connection when the upstream stream stalls mid-way', async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.key}` },
      body: JSON.stringify(chat('[mock hang_body]', { stream: true })),
    });
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
  });

  it('cuts the client connection when the upstream resets mid-stream', async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.key}` },
      body: JSON.stringify(chat('[mock chunks=5 reset_after=2]', { stream: true })),
    });
    await expect(res.body.text()).rejects.toThrow();
  });

  it('answers 502 upstream_error when the upstream cannot be reached', async () => {
    const dead = await startMockUpstream();
    await dead.close();
    const other = await startTestGateway({ mock: dead });
    try {
      const res = await request(`${other.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${other.key}` },
        body: JSON.stringify(chat()),
      });
      expect(res.statusCode).toBe(502);
      expect(await res.body.json()).toMatchObject({ error: { code: 'upstream_error' } });
    } finally {
      await other.close();
    }
  });

  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    const before = mock.aborted.length;
    const controller = new AbortController();
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.key}` },
      body: JSON.stringify(chat('[mock chunks=50 delay_ms=50]', { stream: true })),
    });
    for await (const _ of res.body) {
      controller.abort();
      break;
    }
    await expect.poll(() => mock.aborted.length, { timeout: 2_000 }).toBe(before + 1);
  });
});

describe('pass-through', () => {
  it('forwards allow-listed /v1 paths with the provider key after authenticating', async () => {
    const res = await request(`${gw.url}/v1/files?trace=1`, { method: 'POST', headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' }, body: '{"input":"hi"}' });
    expect(res.statusCode).toBe(404);
    expect(await res.body.json()).toMatchObject({ error: { code: 'unknown_url' } });
    const upstream = mock.requests.at(-1)!;
    expect(upstream.path).toBe('/v1/files?trace=1');
    expect(upstream.body).toEqual({ input: 'hi' });
    expect(upstream.headers.authorization).toBe('Bearer sk-upstream-openai');
  });

  it('upgrades an authenticated websocket and relays both ways with the provider key', async () => {
    const { socket, status } = await upgrade({ authorization: `Bearer ${gw.key}` });
    expect(status).toBe(101);
    const echoed = new Promise<string>((resolve) => socket!.once('data', (d: Buffer) => resolve(d.toString())));
    socket!.write('hello realtime');
    expect(await echoed).toBe('hello realtime');
    socket!.destroy();
    const upstream = mock.requests.at(-1)!;
    expect(upstream).toMatchObject({ method: 'UPGRADE', path: '/v1/realtime/ws?model=gpt-4o-realtime' });
    expect(upstream.headers.authorization).toBe('Bearer sk-upstream-openai');
  });

  it('refuses a websocket upgrade without a valid key', async () => {
    const { status } = await upgrade({ authorization: 'Bearer tg-wrong' });
    expect(status).toBe(401);
  });

  it('answers 404 route_not_found for other /v1 paths when pass-through is denied', async () => {
    const closed = await startTestGateway({ mock, overrides: { 'server.passthrough': 'deny' } });
    try {
      const before = mock.requests.length;
      const res = await request(`${closed.url}/v1/files`, { headers: { authorization: `Bearer ${closed.key}` } });
      expect(res.statusCode).toBe(404);
      expect(await res.body.json()).toMatchObject({ error: { code: 'route_not_found' } });
      expect(mock.requests.length).toBe(before);
    } finally {
      await closed.close();
    }
  });

  it('refuses other /v1 paths without a key', async () => {
    const res = await request(`${gw.url}/v1/files`);
    expect(res.statusCode).toBe(401);
    await res.body.dump();
  });
});

describe('the error catalogue', () => {
  it.each(Object.keys(errorCatalogue) as Array<keyof typeof errorCatalogue>)('renders %s in both dialects with its status', (code) => {
    const error = new GatewayError(code);
    expect(error.status).toBeGreaterThanOrEqual(400);
    expect(errorDialects.openai.render(error)).toEqual({ error: { message: error.message, type: error.type, param: null, code } });
    expect(errorDialects.anthropic.render(error)).toMatchObject({ type: 'error', error: { code, message: error.message } });
    expect(code).toMatch(/^[a-z_]+$/);
  });
});
