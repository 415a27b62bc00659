// The HTTP front door: one node:http server that dispatches to the metered request path, the
// model list, raw pass-through, the operational endpoints and (when mounted) the admin API.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { authenticate } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import { GatewayError } from '../errors/catalogue.js';
import { parseJsonBody } from '../http/parse-json.js';
import { providers } from '../providers/index.js';
import { createPassthrough } from '../proxy/passthrough.js';
import type { PromptCounter } from '../tokens/prompt-counter.js';
import { tokenCountResponse } from '../tokens/token-count-route.js';
import { createMeteredHandler, isAllowed, type MeteredRequestDeps } from './metered-request.js';
import { readBody } from './read-body.js';
import { dialectOf, meteredRoutes } from './routes.js';
import { sendError, sendJson, toGatewayError } from './send.js';

export interface ReadinessCheck {
  readonly name: string;
  // A failing check of this kind reports `degraded` but keeps the replica in rotation (usage lag:
  // every replica lags together when Postgres is down, and requests are still served correctly).
  readonly degradesOnly?: boolean;
  check(): Promise<void>;
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<void>;

export interface GatewayDeps extends MeteredRequestDeps {
  counter: PromptCounter;
  // GET /v1/usage: the caller's standing against every budget that applies to them.
  usageStatus(principal: Principal, sessionId: string | null): Promise<unknown>;
  readiness: readonly ReadinessCheck[];
  admin?: AdminHandler;
}

export interface Gateway {
  readonly server: Server;
  listen(port: number, host: string): Promise<number>;
  // Stops accepting, lets open requests and streams finish (up to drainMs), then closes sockets.
  drain(drainMs: number): Promise<void>;
}

const upgradeRefusal = (status: number, code: string): string =>
  `HTTP/1.1 ${status} ${code}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;

export function createGateway(deps: GatewayDeps): Gateway {
  const { config, principals, upstreams, metrics, logger } = deps;
  const handleMetered = createMeteredHandler(deps);
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;

  const passthrough = createPassthrough({
    credentials: (upstream) => providers[upstream.config.kind].credentials(upstream.config),
    onError(err, target) {
      logger.warn({ err }, 'pass-through failed');
      if (target && 'writeHead' in target) sendError(target, 'openai', new GatewayError('upstream_error'));
      else target?.destroy();
    },
  });
  const passthroughUpstream = () => upstreams.get(config.server.passthroughProvider);

  async function ready(res: ServerResponse): Promise<void> {
    const results = await Promise.all(
      deps.readiness.map(async ({ name, check, degradesOnly = false }) => {
        try {
          await check();
          return { name, degradesOnly, state: 'ok' };
        } catch (err) {
          return { name, degradesOnly, state: (err as Error).message || 'failed' };
        }
      }),
    );
    const failing = results.filter((r) => r.state !== 'ok');
    const ok = !draining && failing.every((r) => r.degradesOnly);
    const status = !ok ? 'not_ready' : failing.length > 0 ? 'degraded' : 'ready';
    sendJson(res, ok ? 200 : 503, { status, checks: Object.fromEntries(results.map((r) => [r.name, r.state])) });
  }

  function listModels(req: IncomingMessage, res: ServerResponse, requestId: string): void {
    const dialect = dialectOf(req.headers);
    const principal = authenticate(req.headers, principals, Date.now());
    const models = config.catalog.list().filter((m) => isAllowed(principal, m));
    if (dialect === 'anthropic') {
      const data = models.map((m) => ({ type: 'model', id: m.name, display_name: m.name, created_at: '1970-01-01T00:00:00Z' }));
      sendJson(res, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null }, { 'x-request-id': requestId });
      return;
    }
    const data = models.map((m) => ({ id: m.name, object: 'model', created: 0, owned_by: m.provider }));
    sendJson(res, 200, { object: 'list', data }, { 'x-request-id': requestId });
  }

  // Token counting for clients: no upstream call, no budget charged, but a key is still required.
  async function countTokens(req: IncomingMessage, res: ServerResponse, requestId: string, kind: 'tollgate' | 'anthropic'): Promise<void> {
    authenticate(req.headers, principals, Date.now());
    const raw = await readBody(req, config.server.maxBodyBytes);
    const body = parseJsonBody(raw);
    const counted = kind === 'anthropic' ? await tokenCountResponse('anthropic', body, config.catalog, deps.counter) : await tokenCountResponse('tollgate', body, config.catalog, deps.counter);
    sendJson(res, 200, counted, { 'x-request-id': requestId });
  }

  async function route(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const metered = meteredRoutes.get(path);
    if (metered) {
      if (req.method !== 'POST') throw new GatewayError('method_not_allowed', `${path} accepts POST only.`);
      return handleMetered(req, res, metered, requestId);
    }
    if (req.method === 'POST' && path === '/v1/token_count') return countTokens(req, res, requestId, 'tollgate');
    if (req.method === 'POST' && path === '/v1/messages/count_tokens') return countTokens(req, res, requestId, 'anthropic');
    if (req.method === 'GET') {
      if (path === '/health') return sendJson(res, 200, { status: 'ok' });
      if (path === '/ready') return ready(res);
      if (path === '/metrics') {
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
        return;
      }
      if (path === '/v1/models') return listModels(req, res, requestId);
      if (path === '/v1/usage') {
        const principal = authenticate(req.headers, principals, Date.now());
        const sessionId = req.headers['x-session-id'];
        return sendJson(res, 200, await deps.usageStatus(principal, typeof sessionId === 'string' ? sessionId : null), { 'x-request-id': requestId });
      }
    }
    if (path.startsWith('/admin/') && deps.admin) return deps.admin(req, res, requestId);
    if (path.startsWith('/v1/') && config.server.passthrough === 'proxy') {
      authenticate(req.headers, principals, Date.now());
      const upstream = passthroughUpstream();
      if (!upstream) throw new GatewayError('route_not_found');
      res.setHeader('x-request-id', requestId);
      passthrough.web(req, res, upstream, providers[upstream.config.kind].rawPath(upstream.config, url));
      return;
    }
    throw new GatewayError('route_not_found', `No route for ${req.method} ${path}.`);
  }

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const requestId = randomUUID();
    if (draining) {
      sendError(res, dialectOf(req.headers), new GatewayError('shutting_down'), { 'x-request-id': requestId, connection: 'close' });
      return;
    }
    inFlight++;
    res.once('close', () => {
      if (--inFlight === 0 && drained) drained();
    });
    route(req, res, requestId).catch((err: unknown) => {
      const error = toGatewayError(err);
      if (error.code === 'internal_error') logger.error({ requestId, err }, 'request failed');
      sendError(res, dialectOf(req.headers), error, { 'x-request-id': requestId });
    });
  });

  // Upgraded sockets leave the HTTP server's keep-alive bookkeeping, so drain tracks them itself.
  const upgraded = new Set<Duplex>();
  const refuse = (socket: Duplex, status: number, code: string) => socket.end(upgradeRefusal(status, code), () => socket.destroy());

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    const upstream = passthroughUpstream();
    try {
      authenticate(req.headers, principals, Date.now());
    } catch (err) {
      const error = toGatewayError(err);
      refuse(socket, error.status, error.code);
      return;
    }
    if (!upstream || config.server.passthrough !== 'proxy' || !req.url?.startsWith('/v1/')) {
      refuse(socket, 404, 'route_not_found');
      return;
    }
    passthrough.ws(req, socket, head, upstream, providers[upstream.config.kind].rawPath(upstream.config, req.url));
  });

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      }),
    async drain(drainMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((resolve) => (drained = resolve)), new Promise((r) => setTimeout(r, drainMs).unref())]);
      }
      server.closeAllConnections();
      for (const socket of upgraded) socket.destroy();
      passthrough.close();
      await closed;
    },
  };
}
