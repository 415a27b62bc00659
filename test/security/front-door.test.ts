// Issue 10, findings 4, 5 and 6: what anonymous callers learn from the operational endpoints,
// how long a slow or greedy client may hold the server, and that a drain always ends.
import { createServer, type Server } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { redisUrl } from '../helpers/services.js';
import { rawRequest } from './raw-http.js';

let mock: MockUpstream;

beforeAll(async () => {
  mock = await startMockUpstream();
});

afterAll(async () => {
  await mock?.close();
});

function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.on('error', reject);
  });
}

// Resolves with what the server sent once it closes the socket, or 'still open' after waitMs.
function closedWithin(socket: Socket, waitMs: number): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const timer = setTimeout(() => resolve('still open'), waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received || 'closed');
    });
  });
}

describe('the operational endpoints tell anonymous callers no dependency errors', { timeout: 90_000 }, () => {
  it('/ready names failed checks without their error text', async () => {
    // Redis behind a TCP relay this test can pull: once it is gone, the check fails with
    // ECONNREFUSED and the relay's address.
    const redis = new URL(redisUrl);
    const relays = new Set<Socket>();
    const relay = createNetServer((client) => {
      const upstream = connect(Number(redis.port || 6379), redis.hostname);
      relays.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const cut = () => (client.destroy(), upstream.destroy());
      client.on('error', cut).on('close', cut);
      upstream.on('error', cut).on('close', cut);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const address = relay.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const gw = await startTestGateway({ mock, env: { REDIS_URL: `redis://127.0.0.1:${port}`, TOLLGATE_REDIS_KEY_PREFIX: `tg-front-door-${process.pid}:` } });
    try {
      expect((await rawRequest(gw.url, 'GET', '/ready')).json).toMatchObject({ status: 'ready' });
      const relayClosed = new Promise((r) => relay.close(r));
      for (const s of relays) s.destroy();
      await relayClosed;
      await expect.poll(async () => (await rawRequest(gw.url, 'GET', '/ready')).status, { timeout: 10_000 }).toBe(503);
      const res = await rawRequest(gw.url, 'GET', '/ready');
      expect(res.json).toEqual({ status: 'not_ready', checks: { pglite: 'ok', redis: 'failed', usage: 'ok' } });
      expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|connect|closed/i);
    } finally {
      await gw.close();
    }
  });

  it('serves /health, /ready and /metrics on server.opsPort, and /metrics no longer on the main port', async () => {
    const gw = await startTestGateway({ mock, overrides: { 'server.opsPort': 0 } });
    try {
      const ops = `http://127.0.0.1:${gw.app.opsPort}`;
      expect(gw.app.opsPort).toBeGreaterThan(0);
      expect((await rawRequest(ops, 'GET', '/metrics')).text).toMatch(/process_cpu_user_seconds_total/);
      expect((await rawRequest(ops, 'GET', '/ready')).json).toMatchObject({ status: 'ready' });
      const main = await rawRequest(gw.url, 'GET', '/metrics');
      expect(main.status).toBe(404);
      expect(main.json).toMatchObject({ error: { code: 'route_not_found' } });
      expect((await rawRequest(gw.url, 'GET', '/health')).json).toEqual({ status: 'ok' });
      // The ops port is not a second front door to the API.
      const models = await rawRequest(ops, 'GET', '/v1/models', { authorization: `Bearer ${gw.key}` });
      expect(models.json).toMatchObject({ error: { code: 'route_not_found' } });
    } finally {
      await gw.close();
    }
  });
});

describe('slow and greedy clients cannot hold the server', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ mock, overrides: { 'server.headersTimeoutMs': 300, 'server.requestTimeoutMs': 600, 'server.maxConnections': 3 } });
  });
  afterAll(async () => gw?.close());

  it('a client that never finishes its request head is cut off after headersTimeoutMs', async () => {
    const socket = await openSocket(gw.url);
    socket.write('GET /health HTTP/1.1\r\nhost: x\r\n');
    expect(await closedWithin(socket, 3_000)).toMatch(/^HTTP\/1\.1 408|^closed$/);
  });

  it('a client that trickles its body is cut off after requestTimeoutMs', async () => {
    const socket = await openSocket(gw.url);
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${gw.key}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"model":`);
    const result = closedWithin(socket, 3_000);
    const trickle = setInterval(() => socket.write(' '), 100);
    try {
      expect(await result).not.toBe('still open');
    } finally {
      clearInterval(trickle);
    }
  });

  it('does not cut a stream that outlasts requestTimeoutMs', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: '[mock chunks=5 delay_ms=300]' }] });
    const res = await rawRequest(gw.url, 'POST', '/v1/chat/completions', { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' }, body);
    expect(res.status).toBe(200);
    expect(res.text).toContain('[DONE]');
  });

  it('drops connections past maxConnections and keeps serving the others', async () => {
    const held = await Promise.all([openSocket(gw.url), openSocket(gw.url), openSocket(gw.url)]);
    try {
      const extra = await openSocket(gw.url);
      expect(await closedWithin(extra, 2_000)).toBe('closed');
    } finally {
      for (const s of held) s.destroy();
    }
    await expect.poll(async () => (await rawRequest(gw.url, 'GET', '/health').catch(() => ({ status: 0 }))).status, { timeout: 2_000 }).toBe(200);
  });
});

describe('a drain ends in bounded time', { timeout: 90_000 }, () => {
  let provider: Server;
  let providerUrl: string;
  const providerSockets: Socket[] = [];

  beforeAll(async () => {
    // A realtime upstream that completes the handshake and then never closes its side.
    provider = createServer();
    provider.on('upgrade', (_req, socket: Socket) => {
      providerSockets.push(socket);
      socket.on('end', () => {});
      socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    const address = provider.address();
    providerUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    for (const s of providerSockets) s.destroy();
    await new Promise((r) => provider.close(r));
  });

  // A websocket pass-through route of the operator's own (the gateway meters /v1/realtime itself).
  const realtime = { mode: 'allowlist', routes: [{ method: 'GET', path: '/v1/realtime/ws', family: 'realtime', cost: 'paid', websocket: true }] };
  const upgradeHead = (key: string) =>
    `GET /v1/realtime/ws?model=gpt-4o-realtime HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

  it('closes a pass-through websocket whose upstream stays half-open', async () => {
    const gw = await startTestGateway({ mock: { url: providerUrl } as MockUpstream, overrides: { 'server.passthrough': realtime, 'server.drainTimeoutMs': 500 } });
    const client = await openSocket(gw.url);
    const switched = new Promise<string>((resolve) => client.once('data', (d: Buffer) => resolve(d.toString())));
    client.write(upgradeHead(gw.key));
    expect(await switched).toMatch(/^HTTP\/1\.1 101/);
    const upstream = providerSockets.at(-1)!;
    upstream.on('error', () => {});
    const upstreamClosed = closedWithin(upstream, 4_000);
    const started = Date.now();
    await gw.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    // A gateway that only half-closed its upstream socket still reads it (and keeps the process
    // alive); one that let go answers the upstream's next bytes with a reset.
    const ping = setInterval(() => upstream.writable && upstream.write('ping'), 100);
    try {
      expect(await upstreamClosed).not.toBe('still open');
    } finally {
      clearInterval(ping);
    }
    client.destroy();
  });

  it('refuses an upgrade that arrives while draining with 503 shutting_down', async () => {
    const gw = await startTestGateway({ mock, overrides: { 'server.passthrough': realtime, 'server.drainTimeoutMs': 2_000 } });
    // A stream in flight holds the drain open and its connection with it; the upgrade is pipelined
    // on that connection, the one way a request can still arrive once the listener is closed.
    const socket = await openSocket(gw.url);
    const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: '[mock chunks=4 delay_ms=300]' }] });
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${gw.key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await new Promise((r) => socket.once('data', r));
    const answer = closedWithin(socket, 5_000);
    const before = mock.requests.length;
    const closing = gw.close();
    socket.write(upgradeHead(gw.key));
    expect(await answer).toMatch(/HTTP\/1\.1 503[\s\S]*"code":"shutting_down"/);
    expect(mock.requests.filter((r) => r.method === 'UPGRADE').length).toBe(mock.requests.slice(0, before).filter((r) => r.method === 'UPGRADE').length);
    await closing;
  });
});
