// Issue 10, findings 1 and 3: request targets are normalised once before routing (anything
// normalisation would change is refused), and key scopes are enforced per endpoint family.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { routeTable } from '../../src/server/routes.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from './raw-http.js';

let mock: MockUpstream;
let gw: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  // The old default: everything unmatched went to the provider raw. Allow-listing a route here
  // shows that even an opted-in pass-through cannot be reached by a path trick.
  gw = await startTestGateway({
    mock,
    overrides: { 'server.passthrough': { mode: 'allowlist', routes: [{ method: 'GET', path: '/v1/files/:id', family: 'files', cost: 'free', owned: 'files' }] } },
  });
});

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

const auth = () => ({ authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' });
const chatBody = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

describe('a dot segment cannot reach a metered route unmetered', () => {
  it.each([
    ['POST', '/v1/./chat/completions'],
    ['POST', '/v1/x/../chat/completions'],
    ['POST', '/v1/%2e/chat/completions'],
    ['POST', '/v1/%2E/chat/completions'],
    ['POST', '/v1/chat\\completions'],
    ['POST', '/v1/chat%2fcompletions'],
    ['POST', '/v1/chat%5Ccompletions'],
    ['POST', '/v1//chat/completions'],
    ['POST', '/v1/chat/completions/.'],
    ['GET', '/v1/./chat/completions'],
    ['POST', '/v1/%zz/chat/completions'],
    ['POST', 'http://127.0.0.1/v1/chat/completions/../files'],
  ])('%s %s is refused with invalid_path and never sent upstream', async (method, target) => {
    const before = mock.requests.length;
    const res = await rawRequest(gw.url, method, target, auth(), method === 'POST' ? chatBody : '');
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'invalid_path', type: 'invalid_request_error' } });
    expect(res.headers['x-request-id']).toBeTruthy();
    expect(mock.requests.length).toBe(before);
  });
});

describe('a traversal cannot escape the provider base path', () => {
  it.each(['/v1/../admin/v1/orgs', '/v1/%2e%2e/%2e%2e/etc/passwd', '/v1/files/..%2f..%2fadmin', '/v1/files/%2e%2e'])(
    'GET %s is refused with invalid_path',
    async (target) => {
      const before = mock.requests.length;
      const res = await rawRequest(gw.url, 'GET', target, auth());
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ error: { code: 'invalid_path' } });
      expect(mock.requests.length).toBe(before);
    },
  );
});

describe('a malformed escape in an admin path is refused before anything reads it', () => {
  it.each(['/admin/v1/orgs/%zz', '/admin/v1/orgs/%', '/admin/v1/../v1/chat/completions'])('GET %s without credentials is a 400', async (target) => {
    const res = await rawRequest(gw.url, 'GET', target);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'invalid_path' } });
  });
});

describe('a websocket upgrade with a path trick is refused', () => {
  it.each(['/v1/./realtime?model=gpt-4o-realtime', '/v1/%2e%2e/realtime'])('upgrade to %s answers 400 invalid_path', async (target) => {
    const before = mock.requests.length;
    const res = await rawRequest(gw.url, 'GET', target, { authorization: `Bearer ${gw.key}`, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'invalid_path' } });
    expect(mock.requests.length).toBe(before);
  });
});

describe('a key scoped to one family cannot call another', () => {
  async function scopedKey(scopes: string[]): Promise<string> {
    const created = await gw.newKey({ user: `scoped-${scopes.join('-') || 'none'}` });
    await gw.admin.call('PATCH', `/keys/${created.id}`, { body: { scopes } });
    await gw.app.principals.apply({ kind: 'key', id: created.id });
    return created.key;
  }

  it('refuses chat to a key scoped to embeddings with 403 scope_not_allowed, before the upstream', async () => {
    const key = await scopedKey(['embeddings']);
    const before = mock.requests.length;
    const res = await rawRequest(gw.url, 'POST', '/v1/chat/completions', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, chatBody);
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ error: { code: 'scope_not_allowed', type: 'permission_error' } });
    expect(mock.requests.length).toBe(before);
    const embed = await rawRequest(gw.url, 'POST', '/v1/embeddings', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify({ model: 'text-embedding-3-small', input: 'hi' }));
    expect(embed.status).toBe(200);
  });

  it('refuses the model list and usage to a key scoped to chat, in the anthropic shape for anthropic clients', async () => {
    const key = await scopedKey(['chat']);
    const models = await rawRequest(gw.url, 'GET', '/v1/models', { 'x-api-key': key, 'anthropic-version': '2023-06-01' });
    expect(models.status).toBe(403);
    expect(models.json).toMatchObject({ type: 'error', error: { code: 'scope_not_allowed' } });
    const usage = await rawRequest(gw.url, 'GET', '/v1/usage', { authorization: `Bearer ${key}` });
    expect(usage.json).toMatchObject({ error: { code: 'scope_not_allowed' } });
  });

  it('lets a key with no scopes call every family (backwards compatible)', async () => {
    const res = await rawRequest(gw.url, 'POST', '/v1/chat/completions', auth(), chatBody);
    expect(res.status).toBe(200);
  });
});

// The stable code wherever the route's dialect puts it: Gemini's error.code is the HTTP status,
// so Tollgate's code is its ErrorInfo reason; Bedrock's errors are flat, the code at the top.
const stableCode = (json: unknown): unknown => {
  const body = json as { code?: unknown; error?: { code?: unknown; details?: Array<{ reason?: unknown }> } } | undefined;
  if (typeof body?.code === 'string') return body.code;
  const error = body?.error;
  return typeof error?.code === 'string' ? error.code : error?.details?.[0]?.reason;
};

describe('the route table', () => {
  it.each(routeTable.map((row) => [row.method, row.path, row] as const))('%s %s refuses other methods and, when keyed, callers without a key', async (method, path, row) => {
    const wrong = method === 'GET' ? 'DELETE' : 'GET';
    if (!routeTable.some((r) => r.path === path && r.method === wrong)) {
      const res = await rawRequest(gw.url, wrong, path, auth());
      expect(res.status).toBe(405);
      expect(res.json).toMatchObject({ error: { code: 'method_not_allowed' } });
    }
    const anonymous = await rawRequest(gw.url, method, path, { 'content-type': 'application/json' }, method === 'POST' ? '{}' : '');
    if (row.auth === 'key') {
      expect(anonymous.status).toBe(401);
      expect(stableCode(anonymous.json)).toBe('missing_api_key');
    } else {
      expect(anonymous.status).toBeLessThan(500);
    }
  });
});
