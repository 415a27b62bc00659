// The HTTP front door: normalises the request target once, then looks the request up in the route
// table (src/server/routes.ts), the admin mount, and the pass-through allow-list, in that order.
// Also owns the operational port, server timeouts and the drain.
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { authenticate, authorize } from '../auth/authenticate.js';
import type { IpAllowGuard } from '../auth/ip-allow-policy.js';
import type { Tracer } from '../tracing/tracer.js';
import type { Principal } from '../auth/principal.js';
import { type ErrorCode, GatewayError } from '../errors/catalogue.js';
import { createCors } from '../http/cors.js';
import { parseJsonBody } from '../http/parse-json.js';
import { type DialectName, errorDialects, providers } from '../providers/index.js';
import type { Ownership } from '../proxy/ownership.js';
import { createPassthrough } from '../proxy/passthrough.js';
import { compilePassthroughRoutes, type PassthroughMatch } from '../proxy/passthrough-routes.js';
import type { Upstream } from '../proxy/upstreams.js';
import type { PromptCounter } from '../tokens/prompt-counter.js';
import { tokenCountResponse } from '../tokens/token-count-route.js';
import type { EndpointFamily } from './families.js';
import type { MediaMeter } from '../metering/media-meter.js';
import { createMediaHandler } from './media-request.js';
import { createRealtimeSessions, type RealtimeSessions, realtimeProtocolKey } from './realtime-session.js';
import { createMeteredHandler, isAllowed, type MeteredRequestDeps, requirePathModel, routeModel } from './metered-request.js';
import { readBody } from './read-body.js';
import { parseRequestTarget } from './request-path.js';
import { geminiTokenCount } from '../providers/gemini/count-tokens.js';
import { dialectOf, findMount, findRoute, pathModel, type RouteHandler, type RouteRow } from './routes.js';
import { sendError, sendJson, toGatewayError } from './send.js';

export interface ReadinessCheck {
  readonly name: string;
  // A failing check of this kind reports `degraded` but keeps the replica in rotation (usage lag:
  // every replica lags together when Postgres is down, and requests are still served correctly).
  readonly degradesOnly?: boolean;
  check(): Promise<void>;
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<void>;

// One allowed pass-through call, for the ledger (unmetered: no tokens, no cost).
export interface UnmeteredCall {
  readonly requestId: string;
  readonly principal: Principal;
  readonly provider: string;
  readonly family: EndpointFamily;
  readonly status: number;
  readonly latencyMs: number;
}

export interface GatewayDeps extends MeteredRequestDeps {
  // Reserves and settles the media routes (images, audio, moderations), priced by units.
  mediaMeter: MediaMeter;
  counter: PromptCounter;
  // GET /v1/usage: the caller's standing against every budget that applies to them.
  usageStatus(principal: Principal, sessionId: string | null): Promise<unknown>;
  // GET /v1/usage/history: the caller's own usage by day (query: from, to, tz, group_by).
  usageHistory(principal: Principal, query: URLSearchParams): Promise<unknown>;
  // GET and PUT /v1/alerts/preferences: the caller's own budget alert thresholds and email; a
  // gateway without alerting answers not_found.
  alertPreferences?(principal: Principal, update: unknown): Promise<unknown>;
  readiness: readonly ReadinessCheck[];
  admin?: AdminHandler;
  // The web console under /dashboard (src/console/).
  console?: AdminHandler;
  ownership: Ownership;
  // True when any budget or limit applies to the principal: paid pass-through routes are refused then.
  budgetApplies(principal: Principal): boolean;
  recordUnmetered(call: UnmeteredCall): void;
  // IP allow-lists of keys and orgs (src/auth/ip-allow-policy.ts); none: every address is allowed.
  ipAllow?: Pick<IpAllowGuard, 'check'>;
  // OpenTelemetry request spans (src/tracing/); none when tracing is off.
  tracer?: Pick<Tracer, 'request'>;
}

export interface Gateway {
  readonly server: Server;
  listen(port: number, host: string): Promise<number>;
  // The operational endpoints alone (server.opsPort).
  listenOps(port: number, host: string): Promise<number>;
  // Stops accepting, lets open requests and streams finish (up to drainMs), then closes sockets.
  drain(drainMs: number): Promise<void>;
}

// A whole error answer written straight to a socket the HTTP server no longer (or never) manages:
// refused upgrades and requests Node's parser could not read.
function rawErrorAnswer(error: GatewayError): string {
  const body = JSON.stringify(errorDialects.openai.render(error));
  return `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${randomUUID()}\r\nconnection: close\r\n\r\n${body}`;
}

const parserErrors: Readonly<Record<string, ErrorCode>> = { HPE_HEADER_OVERFLOW: 'headers_too_large', ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout' };

interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  row: RouteRow;
  principal: Principal | undefined;
  // The model a {model} path segment names (Gemini routes); undefined elsewhere.
  model: string | undefined;
}

const listen = (server: Server, port: number, host: string) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });

export function createGateway(deps: GatewayDeps): Gateway {
  const { config, principals, upstreams, metrics, logger } = deps;
  const handleMetered = createMeteredHandler(deps);
  const handleMedia = createMediaHandler(deps);
  const realtime = createRealtimeSessions(deps);
  const passthroughRoutes = compilePassthroughRoutes(config.server.passthrough);
  const separateOps = config.server.opsPort !== undefined;
  const cors = createCors(config.cors);
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;

  const passthrough = createPassthrough({
    credentials: (upstream) => providers[upstream.config.kind].credentials(upstream.config),
    onWsError(err, socket) {
      logger.warn({ err }, 'websocket pass-through failed');
      socket?.destroy();
    },
  });
  const passthroughUpstream = (): Upstream | undefined => upstreams.get(config.server.passthrough.provider);

  async function ready(res: ServerResponse): Promise<void> {
    const results = await Promise.all(
      deps.readiness.map(async ({ name, check, degradesOnly = false }) => {
        try {
          await check();
          return { name, degradesOnly, state: 'ok' };
        } catch (err) {
          // The reason goes to the log: dependency errors (hosts, users, SQL) are not for anonymous callers.
          logger.warn({ check: name, err: (err as Error).message }, 'readiness check failed');
          return { name, degradesOnly, state: degradesOnly ? 'degraded' : 'failed' };
        }
      }),
    );
    const failing = results.filter((r) => r.state !== 'ok');
    const ok = !draining && failing.every((r) => r.degradesOnly);
    const status = !ok ? 'not_ready' : failing.length > 0 ? 'degraded' : 'ready';
    sendJson(res, ok ? 200 : 503, { status, checks: Object.fromEntries(results.map((r) => [r.name, r.state])) });
  }

  function listModels({ req, res, requestId, principal }: RouteContext): void {
    const models = config.catalog.list().filter((m) => isAllowed(principal!, m));
    if (dialectOf(req.headers) === 'anthropic') {
      const data = models.map((m) => ({ type: 'model', id: m.name, display_name: m.name, created_at: '1970-01-01T00:00:00Z' }));
      sendJson(res, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null }, { 'x-request-id': requestId });
      return;
    }
    const data = models.map((m) => ({ id: m.name, object: 'model', created: 0, owned_by: m.provider }));
    sendJson(res, 200, { object: 'list', data }, { 'x-request-id': requestId });
  }

  // Token counting for clients: no upstream call, no budget charged, but a key is still required.
  async function countTokens({ req, res, requestId }: RouteContext, kind: 'tollgate' | 'anthropic'): Promise<void> {
    const body = parseJsonBody(await readBody(req, config.server.maxBodyBytes));
    const counted = kind === 'anthropic' ? await tokenCountResponse('anthropic', body, config.catalog, deps.counter) : await tokenCountResponse('tollgate', body, config.catalog, deps.counter);
    sendJson(res, 200, counted, { 'x-request-id': requestId });
  }

  const handlers: Record<RouteHandler, (ctx: RouteContext) => void | Promise<void>> = {
    metered: ({ req, res, requestId, row, principal, model }) => handleMetered(req, res, row.metered!, requestId, principal!, model),
    media: ({ req, res, requestId, row, principal }) => handleMedia(req, res, row.media!, principal!, requestId),
    upgradeRequired({ req }) {
      throw new GatewayError('invalid_request', `${req.method} ${parseRequestTarget(req.url).path} opens a websocket session: send "Connection: Upgrade" and "Upgrade: websocket".`);
    },
    tokenCount: (ctx) => countTokens(ctx, 'tollgate'),
    anthropicTokenCount: (ctx) => countTokens(ctx, 'anthropic'),
    async geminiTokenCount({ req, res, requestId, principal, model }) {
      const routed = routeModel(requirePathModel(model), principal!, config, upstreams);
      sendJson(res, 200, await geminiTokenCount(await readBody(req, config.server.maxBodyBytes), routed.model, deps.counter), { 'x-request-id': requestId });
    },
    models: listModels,
    async usage({ req, res, requestId, principal }) {
      const sessionId = req.headers['x-session-id'];
      sendJson(res, 200, await deps.usageStatus(principal!, typeof sessionId === 'string' ? sessionId : null), { 'x-request-id': requestId });
    },
    async usageHistory({ req, res, requestId, principal }) {
      sendJson(res, 200, await deps.usageHistory(principal!, new URLSearchParams(parseRequestTarget(req.url).search)), { 'x-request-id': requestId });
    },
    async alertPreferences({ req, res, requestId, principal }) {
      if (!deps.alertPreferences) throw new GatewayError('not_found', 'Alerting is turned off on this gateway.');
      const update = req.method === 'PUT' ? parseJsonBody(await readBody(req, config.server.maxBodyBytes)) : undefined;
      sendJson(res, 200, await deps.alertPreferences(principal!, update), { 'x-request-id': requestId });
    },
    health: ({ res }) => sendJson(res, 200, { status: 'ok' }),
    ready: ({ res }) => ready(res),
    async metrics({ res }) {
      const text = await metrics.scrape();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
    },
  };

  // The main port serves every row (but /metrics once an ops port exists); the ops port only ops rows.
  const servedOn = (row: RouteRow, ops: boolean): boolean => (ops ? row.ops === true : !(separateOps && row.handler === 'metrics'));

  // Cost and ownership: what the allow-list cannot decide from the path alone.
  async function admitPassthrough(principal: Principal, { route, objectId }: PassthroughMatch, upstream: Upstream): Promise<void> {
    if (route.cost === 'paid' && deps.budgetApplies(principal)) throw new GatewayError('paid_endpoint_not_metered');
    if (route.owned && !(await deps.ownership.owns(principal.orgId, { provider: upstream.name, kind: route.owned, objectId: objectId! }))) {
      // The same answer as for an id that does not exist: another tenant's ids are not confirmed.
      throw new GatewayError('not_found', `No ${route.owned} object "${objectId}".`);
    }
  }

  async function forward(req: IncomingMessage, res: ServerResponse, requestId: string, path: string, search: string): Promise<void> {
    const principal = await authenticate(req.headers, principals, Date.now());
    deps.ipAllow?.check(req, principal);
    const match = passthroughRoutes.match(req.method ?? 'GET', path, false);
    const upstream = passthroughUpstream();
    if (!match || !upstream) throw new GatewayError('route_not_found', `No route for ${req.method} ${path}.`);
    const { family, creates } = match.route;
    const startedMs = performance.now();
    try {
      authorize(principal, family);
      await admitPassthrough(principal, match, upstream);
      const status = await passthrough.web(req, res, {
        upstream,
        path: providers[upstream.config.kind].rawPath(upstream.config, path + search),
        maxBodyBytes: config.server.maxBodyBytes,
        onCreated: creates ? (objectId) => deps.ownership.record(principal.orgId, { provider: upstream.name, kind: creates, objectId }) : undefined,
        responseHeaders: { 'x-request-id': requestId },
      });
      const latencyMs = Math.round(performance.now() - startedMs);
      metrics.passthrough.inc({ family, outcome: String(status) });
      logger.info({ requestId, passthrough: family, method: req.method, path, keyId: principal.keyId, orgId: principal.orgId, status, ms: latencyMs }, 'pass-through');
      deps.recordUnmetered({ requestId, principal, provider: upstream.name, family, status, latencyMs });
    } catch (err) {
      metrics.passthrough.inc({ family, outcome: toGatewayError(err).code });
      throw err;
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, requestId: string, ops: boolean): Promise<void> {
    let dialect: DialectName = dialectOf(req.headers);
    try {
      const { path, search } = parseRequestTarget(req.url);
      // The admin API and console are same-origin only; browser apps may call the gateway's API.
      if (cors && !ops && findMount(path) === undefined && cors.handle(req, res)) return;
      const method = req.method ?? 'GET';
      const found = findRoute(method, path);
      if (found.kind === 'row' && servedOn(found.row, ops)) {
        const { row } = found;
        dialect = row.dialect ?? dialect;
        let principal: Principal | undefined;
        if (row.auth === 'key') {
          const queryKey = row.keyInQuery ? (new URLSearchParams(search).get('key') ?? undefined) : undefined;
          principal = await authenticate(req.headers, principals, Date.now(), queryKey);
          deps.ipAllow?.check(req, principal);
          authorize(principal, row.family!);
        }
        return await handlers[row.handler]({ req, res, requestId, row, principal, model: pathModel(row.path, path) });
      }
      if (found.kind === 'method_not_allowed' && !ops) {
        throw new GatewayError('method_not_allowed', `${path} accepts ${found.allowed.join(', ')} only.`, null, { allow: found.allowed.join(', ') });
      }
      const mounted = ops ? undefined : findMount(path);
      const mountHandler = mounted && deps[mounted];
      if (mountHandler) return await mountHandler(req, res, requestId);
      if (!ops && path.startsWith('/v1/')) return await forward(req, res, requestId, path, search);
      throw new GatewayError('route_not_found', `No route for ${method} ${path}.`);
    } catch (err) {
      const error = toGatewayError(err);
      if (error.code === 'internal_error') logger.error({ requestId, err }, 'request failed');
      sendError(res, dialect, error, { 'x-request-id': requestId });
    }
  }

  function onRequest(ops: boolean) {
    return (req: IncomingMessage, res: ServerResponse) => {
      const requestId = randomUUID();
      if (draining) {
        sendError(res, dialectOf(req.headers), new GatewayError('shutting_down'), { 'x-request-id': requestId, connection: 'close' });
        return;
      }
      inFlight++;
      res.once('close', () => {
        if (--inFlight === 0 && drained) drained();
      });
      if (deps.tracer && !ops) void deps.tracer.request(req, res, (req.url ?? '/').split('?')[0]!, () => route(req, res, requestId, ops));
      else void route(req, res, requestId, ops);
    };
  }

  const { headersTimeoutMs, requestTimeoutMs, maxConnections } = config.server;
  const serverOptions = {
    keepAliveTimeout: 65_000,
    // Node refuses a head timeout longer than the whole-request one.
    headersTimeout: Math.min(headersTimeoutMs, requestTimeoutMs),
    // Covers receiving the request only: answers (long streams) are not cut by it.
    requestTimeout: requestTimeoutMs,
    // How often Node checks both timeouts; its 30 s default would let a short timeout run long.
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(Math.min(headersTimeoutMs, requestTimeoutMs) / 2))),
  };
  const server = createServer(serverOptions, onRequest(false));
  server.maxConnections = maxConnections;
  const opsServer = separateOps ? createServer(serverOptions, onRequest(true)) : undefined;
  if (opsServer) opsServer.maxConnections = maxConnections;

  // Upgraded sockets leave the HTTP server's keep-alive bookkeeping, so drain tracks them itself.
  const upgraded = new Set<Duplex>();
  const refuse = (socket: Duplex, error: GatewayError) => socket.end(rawErrorAnswer(error), () => socket.destroy());

  // Node answers what its parser refuses with a bare status line; clients get the catalogue's
  // shape instead, unless an answer on that socket has already started.
  const onClientError = (err: NodeJS.ErrnoException, socket: Duplex) => {
    const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (err.code === 'ECONNRESET' || !socket.writable || answering) {
      socket.destroy();
      return;
    }
    const code = parserErrors[err.code ?? ''] ?? 'invalid_http';
    refuse(socket, new GatewayError(code, code === 'invalid_http' ? `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'}).` : undefined));
  };
  server.on('clientError', onClientError);
  opsServer?.on('clientError', onClientError);

  // Websocket routes of the route table, by the session handler their row names.
  const websocketHandlers: Record<NonNullable<RouteRow['websocket']>, RealtimeSessions['open']> = { realtime: realtime.open };

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { path, search } = parseRequestTarget(req.url);
    const found = req.method === 'GET' ? findRoute('GET', path) : undefined;
    const row = found?.kind === 'row' && found.row.websocket ? found.row : undefined;
    // A browser cannot set Authorization on a websocket: the realtime API takes the key as a subprotocol.
    const principal = await authenticate(req.headers, principals, Date.now(), row ? realtimeProtocolKey(req.headers) : undefined);
    deps.ipAllow?.check(req, principal);
    if (row) {
      authorize(principal, row.family!);
      if (draining || socket.destroyed) throw new GatewayError('shutting_down');
      return websocketHandlers[row.websocket!](req, socket, head, principal, randomUUID());
    }
    const match = req.method === 'GET' ? passthroughRoutes.match('GET', path, true) : null;
    const upstream = passthroughUpstream();
    if (!match || !upstream) throw new GatewayError('route_not_found', `No websocket route for ${path}.`);
    authorize(principal, match.route.family);
    await admitPassthrough(principal, match, upstream);
    if (draining || socket.destroyed) throw new GatewayError('shutting_down');
    metrics.passthrough.inc({ family: match.route.family, outcome: 'upgrade' });
    logger.info({ passthrough: match.route.family, path, keyId: principal.keyId, orgId: principal.orgId }, 'pass-through websocket');
    deps.recordUnmetered({ requestId: randomUUID(), principal, provider: upstream.name, family: match.route.family, status: 101, latencyMs: 0 });
    passthrough.ws(req, socket, head, upstream, providers[upstream.config.kind].rawPath(upstream.config, path + search));
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (draining) {
      refuse(socket, new GatewayError('shutting_down'));
      return;
    }
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    upgrade(req, socket, head).catch((err: unknown) => {
      const error = toGatewayError(err);
      if (error.code === 'internal_error') logger.error({ err }, 'upgrade failed');
      refuse(socket, error);
    });
  });

  const close = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));

  return {
    server,
    listen: (port, host) => listen(server, port, host),
    listenOps: (port, host) => {
      if (!opsServer) throw new Error('server.opsPort is not set');
      return listen(opsServer, port, host);
    },
    async drain(drainMs) {
      draining = true;
      const closed = Promise.all([close(server), opsServer?.listening ? close(opsServer) : undefined]);
      server.closeIdleConnections();
      opsServer?.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((resolve) => (drained = resolve)), new Promise((r) => setTimeout(r, drainMs).unref())]);
      }
      server.closeAllConnections();
      opsServer?.closeAllConnections();
      // Websockets are not requests: nothing tells them to finish, so they are cut once requests drained.
      for (const socket of upgraded) socket.destroy();
      passthrough.close();
      await closed;
    },
  };
}
