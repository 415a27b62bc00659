// Issue 10, finding 2 (and the websocket half of 6): the provider credential is reachable only
// through an explicit allow-list; stored objects are confined to the org that created them, paid
// endpoints to callers without budgets, and headers in both directions to the shared allow-lists.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockUpstream } from '../../bench/mock-upstream.js';
import { loadConfig } from '../../src/config/load.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from './raw-http.js';

// A real provider stand-in on port 0: creates files with fresh ids, serves and deletes them, lists
// every file of every tenant (as the shared provider project does), echoes what it received.
interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}
let provider: Server;
let providerUrl: string;
const seen: Seen[] = [];
let upgrades = 0;

function startProvider(): Promise<void> {
  let next = 0;
  const files = new Map<string, string>();
  const responses = new Set<string>();
  provider = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'set-cookie': 'provider-session=secret', 'openai-organization': 'org-shared', 'x-request-id': 'req_upstream' });
        res.end(JSON.stringify(body));
      };
      const path = (req.url ?? '').split('?')[0]!.replace(/^\/v1/, '');
      const id = path.split('/')[2];
      if (req.method === 'POST' && path === '/files') {
        const fileId = `file-${++next}`;
        files.set(fileId, Buffer.concat(chunks).toString());
        return send(200, { id: fileId, object: 'file' });
      }
      if (req.method === 'GET' && path === '/files') return send(200, { data: [...files.keys()].map((f) => ({ id: f })) });
      if (req.method === 'GET' && id && files.has(id)) return send(200, { id, object: 'file' });
      if (req.method === 'DELETE' && id && files.delete(id)) return send(200, { id, deleted: true });
      if (req.method === 'POST' && path === '/batches') return send(200, { id: `batch_${++next}`, object: 'batch' });
      // The Responses API: the metered create (plain or streamed) stores the response; reads name it.
      if (req.method === 'POST' && path === '/responses') {
        const asked = JSON.parse(Buffer.concat(chunks).toString()) as { model: string; stream?: boolean };
        const response = { id: `resp_${++next}`, object: 'response', status: 'completed', model: asked.model, output: [], usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 } };
        responses.add(response.id);
        if (!asked.stream) return send(200, response);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`event: response.created\ndata: ${JSON.stringify({ type: 'response.created', response: { ...response, status: 'in_progress', usage: null } })}\n\n`);
        res.end(`event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response })}\n\n`);
        return;
      }
      if (path.startsWith('/responses/') && id && responses.has(id)) {
        if (req.method === 'DELETE') return send(200, { id, object: 'response', deleted: true });
        return send(200, path.endsWith('/input_items') ? { object: 'list', data: [] } : { id, object: 'response' });
      }
      send(404, { error: { code: 'unknown_url' } });
    });
  });
  provider.on('upgrade', (req, socket) => {
    upgrades++;
    seen.push({ method: 'UPGRADE', path: req.url ?? '', headers: req.headers });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nset-cookie: provider-session=secret\r\nopenai-organization: org-shared\r\n\r\n');
    socket.end();
  });
  return new Promise((resolve) => provider.listen(0, '127.0.0.1', () => {
    const address = provider.address();
    providerUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    resolve();
  }));
}

const upstreamAt = () => ({ url: providerUrl }) as MockUpstream;
const routes = [
  { method: 'POST', path: '/v1/files', family: 'files', cost: 'free', creates: 'files' },
  { method: 'GET', path: '/v1/files/:id', family: 'files', cost: 'free', owned: 'files' },
  { method: 'DELETE', path: '/v1/files/:id', family: 'files', cost: 'free', owned: 'files' },
  { method: 'POST', path: '/v1/batches', family: 'batches', cost: 'paid', creates: 'batches' },
  // A made-up websocket path: /v1/realtime itself is metered (test/e2e/realtime.test.ts).
  { method: 'GET', path: '/v1/realtime/ws', family: 'realtime', cost: 'paid', websocket: true },
  { method: 'GET', path: '/v1/responses/:id', family: 'responses', cost: 'free', owned: 'responses' },
  { method: 'GET', path: '/v1/responses/:id/input_items', family: 'responses', cost: 'free', owned: 'responses' },
  { method: 'DELETE', path: '/v1/responses/:id', family: 'responses', cost: 'free', owned: 'responses' },
];
const allowlist = { mode: 'allowlist', routes };

let open: TestGateway;
let budgeted: TestGateway;

beforeAll(async () => {
  await startProvider();
  open = await startTestGateway({ mock: upstreamAt(), overrides: { 'server.passthrough': allowlist, 'server.maxBodyBytes': 1024 } });
  budgeted = await startTestGateway({
    mock: upstreamAt(),
    overrides: { 'server.passthrough': allowlist, 'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 100_000 }] },
  });
});

afterAll(async () => {
  await open?.close();
  await budgeted?.close();
  await new Promise((r) => provider?.close(r));
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const upgradeHeaders = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };

describe('the default configuration hands no key the provider credential', () => {
  let closed: TestGateway;
  beforeAll(async () => {
    // The schema's default (an empty section); config/tollgate.yaml's legacy `proxy` means the shipped allow-list.
    closed = await startTestGateway({ mock: upstreamAt(), overrides: { 'server.passthrough': {} } });
  });
  afterAll(async () => closed?.close());

  it.each([
    ['GET', '/v1/files'],
    ['GET', '/v1/files/file-1'],
    ['POST', '/v1/uploads'],
    ['POST', '/v1/batches'],
    ['POST', '/v1/fine_tuning/jobs'],
    ['GET', '/v1/responses/resp_1'],
  ])('%s %s is a 404 route_not_found that never reaches the provider', async (method, path) => {
    const before = seen.length;
    const res = await rawRequest(closed.url, method, path, { ...bearer(closed.key), 'content-type': 'application/json' }, method === 'POST' ? '{}' : '');
    expect(res.status).toBe(404);
    expect(res.json, res.text).toMatchObject({ error: { code: 'route_not_found' } });
    expect(seen.length).toBe(before);
  });

  it('refuses the realtime websocket without reaching the provider', async () => {
    const before = upgrades;
    const res = await rawRequest(closed.url, 'GET', '/v1/realtime/ws?model=gpt-4o-realtime', { ...bearer(closed.key), ...upgradeHeaders });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: { code: 'route_not_found' } });
    expect(upgrades).toBe(before);
  });
});

describe("a key cannot list, read or delete another org's stored objects", () => {
  it("refuses another org's file as not_found and serves the owner's", async () => {
    const created = await rawRequest(open.url, 'POST', '/v1/files', { ...bearer(open.key), 'content-type': 'application/json' }, '{"purpose":"batch"}');
    expect(created.status).toBe(200);
    const fileId = (created.json as { id: string }).id;
    const rival = await open.newKey({ org: 'rival', user: 'mallory' });
    const before = seen.length;
    for (const method of ['GET', 'DELETE']) {
      const res = await rawRequest(open.url, method, `/v1/files/${fileId}`, bearer(rival.key));
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({ error: { code: 'not_found' } });
    }
    expect(seen.length).toBe(before);
    const mine = await rawRequest(open.url, 'GET', `/v1/files/${fileId}`, bearer(open.key));
    expect(mine.status).toBe(200);
    expect(mine.json).toEqual({ id: fileId, object: 'file' });
  });

  it('refuses the cross-tenant listing', async () => {
    const before = seen.length;
    const res = await rawRequest(open.url, 'GET', '/v1/files', bearer(open.key));
    expect(res.json).toMatchObject({ error: { code: 'route_not_found' } });
    expect(seen.length).toBe(before);
  });

  it('cannot be configured to list a stored family', () => {
    expect(() => loadConfig({ env: {}, overrides: { 'server.passthrough': { mode: 'allowlist', routes: [{ method: 'GET', path: '/v1/files', family: 'files', cost: 'free' }] } } })).toThrow(/lists files of every tenant/);
    expect(() => loadConfig({ env: {}, overrides: { 'server.passthrough': { mode: 'allowlist', routes: [{ method: 'POST', path: '/v1/batches', family: 'batches', cost: 'free', creates: 'batches' }] } } })).toThrow(/cost must be paid/);
    expect(() => loadConfig({ env: {}, overrides: { 'server.passthrough': { mode: 'allowlist', routes: [{ method: 'POST', path: '/v1/chat/completions', family: 'chat', cost: 'free' }] } } })).toThrow(/served by the gateway itself/);
  });
});

describe('a response created on the metered path can be read by its org only', () => {
  it.each([
    ['plain', false],
    ['streamed', true],
  ])('serves the creator its %s response and answers another org not_found', async (_kind, stream) => {
    const created = await rawRequest(open.url, 'POST', '/v1/responses', { ...bearer(open.key), 'content-type': 'application/json' }, JSON.stringify({ model: 'gpt-4o-mini', input: 'hi', stream }));
    expect(created.status).toBe(200);
    const responseId = /"id":"(resp_\d+)"/.exec(created.text)![1]!;
    // Ownership is recorded after the answer, off the hot path: the creator's read may race it briefly.
    await expect.poll(async () => (await rawRequest(open.url, 'GET', `/v1/responses/${responseId}`, bearer(open.key))).status, { timeout: 3_000 }).toBe(200);
    const mine = await rawRequest(open.url, 'GET', `/v1/responses/${responseId}/input_items`, bearer(open.key));
    expect(mine.json).toEqual({ object: 'list', data: [] });
    const rival = await open.newKey({ org: 'rival', user: `mallory-${responseId}` });
    const before = seen.length;
    for (const [method, path] of [['GET', `/v1/responses/${responseId}`], ['GET', `/v1/responses/${responseId}/input_items`], ['DELETE', `/v1/responses/${responseId}`]] as const) {
      const res = await rawRequest(open.url, method, path, bearer(rival.key));
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({ error: { code: 'not_found' } });
    }
    expect(seen.length).toBe(before);
  });
});

describe('client identity headers do not reach the provider, provider cookies do not come back', () => {
  it('forwards only allow-listed headers and filters the answer', async () => {
    const res = await rawRequest(
      open.url,
      'POST',
      '/v1/files',
      { ...bearer(open.key), 'content-type': 'application/json', cookie: 'session=victim', 'openai-organization': 'org-victim', 'openai-project': 'proj-victim', 'x-forwarded-for': '10.0.0.1', 'x-forwarded-host': 'evil' },
      '{"purpose":"batch"}',
    );
    expect(res.status).toBe(200);
    const upstream = seen.at(-1)!;
    expect(upstream.headers.authorization).toBe('Bearer sk-upstream-openai');
    for (const name of ['cookie', 'openai-organization', 'openai-project', 'x-forwarded-for', 'x-forwarded-host']) expect(upstream.headers[name]).toBeUndefined();
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers['openai-organization']).toBeUndefined();
    expect(res.headers['x-upstream-request-id']).toBe('req_upstream');
    expect(res.headers['x-request-id']).not.toBe('req_upstream');
  });

  it('filters the websocket handshake both ways', async () => {
    const res = await rawRequest(open.url, 'GET', '/v1/realtime/ws?model=gpt-4o-realtime', { ...bearer(open.key), ...upgradeHeaders, cookie: 'session=victim', 'openai-organization': 'org-victim', 'x-forwarded-for': '10.0.0.1' });
    expect(res.status).toBe(101);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers['openai-organization']).toBeUndefined();
    const upstream = seen.at(-1)!;
    expect(upstream).toMatchObject({ method: 'UPGRADE', path: '/v1/realtime/ws?model=gpt-4o-realtime' });
    expect(upstream.headers.authorization).toBe('Bearer sk-upstream-openai');
    for (const name of ['cookie', 'openai-organization', 'x-forwarded-for']) expect(upstream.headers[name]).toBeUndefined();
  });

  it('refuses an upload past server.maxBodyBytes with 413', async () => {
    const res = await rawRequest(open.url, 'POST', '/v1/files', { ...bearer(open.key), 'content-type': 'application/json' }, JSON.stringify({ pad: 'x'.repeat(2048) }));
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ error: { code: 'body_too_large' } });
  });
});

describe('a paid endpoint is refused while a budget applies', () => {
  it('refuses batch creation with paid_endpoint_not_metered under a budget, and serves it without one', async () => {
    const before = seen.length;
    const res = await rawRequest(budgeted.url, 'POST', '/v1/batches', { ...bearer(budgeted.key), 'content-type': 'application/json' }, '{"input_file_id":"file-1"}');
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ error: { code: 'paid_endpoint_not_metered', type: 'permission_error' } });
    expect(seen.length).toBe(before);
    const free = await rawRequest(open.url, 'POST', '/v1/batches', { ...bearer(open.key), 'content-type': 'application/json' }, '{"input_file_id":"file-1"}');
    expect(free.status).toBe(200);
  });

  it('refuses the realtime websocket under a budget', async () => {
    const before = upgrades;
    const res = await rawRequest(budgeted.url, 'GET', '/v1/realtime/ws?model=gpt-4o-realtime', { ...bearer(budgeted.key), ...upgradeHeaders });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ error: { code: 'paid_endpoint_not_metered' } });
    expect(upgrades).toBe(before);
  });

  it("refuses a websocket outside the key's scopes", async () => {
    const scoped = await open.newKey({ user: 'chat-only' });
    await open.admin.call('PATCH', `/keys/${scoped.id}`, { body: { scopes: ['chat'] } });
    await open.app.principals.apply({ kind: 'key', id: scoped.id });
    const res = await rawRequest(open.url, 'GET', '/v1/realtime/ws', { ...bearer(scoped.key), ...upgradeHeaders });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ error: { code: 'scope_not_allowed' } });
  });
});

describe('every allowed pass-through call is counted and recorded', () => {
  it('leaves a metric and an unmetered ledger row', async () => {
    const res = await rawRequest(open.url, 'POST', '/v1/files', { ...bearer(open.key), 'content-type': 'application/json' }, '{"purpose":"count"}');
    expect(res.status).toBe(200);
    const metrics = await rawRequest(open.url, 'GET', '/metrics');
    expect(metrics.text).toMatch(/tollgate_passthrough_requests_total\{family="files",outcome="200"\} [1-9]/);
    const rows = async () => {
      const result = await open.app.database.db.execute(sql`select model, unmetered, status, cost_micros from usage_events where request_id = ${res.headers['x-request-id']!}`);
      return (result as unknown as { rows: Array<{ model: string; unmetered: boolean; status: number; cost_micros: number | string }> }).rows;
    };
    await expect.poll(async () => (await rows()).length, { timeout: 3_000 }).toBe(1);
    expect((await rows())[0]).toMatchObject({ model: 'files', unmetered: true, status: 200 });
    expect(Number((await rows())[0]!.cost_micros)).toBe(0);
  });
});
