// Metered realtime websocket sessions (GET /v1/realtime?model=...). The gateway has authenticated
// the key (header, or the browser's `openai-insecure-api-key.<key>` subprotocol) and checked its
// scopes. Here: route the model, reserve one response's worst case before anything reaches the
// provider, open the upstream websocket with the provider's key, then complete the client's
// handshake and relay frames both ways untouched. Each `response.done` settles that response's
// real cost as its own usage event and reserves the next one; a refused reservation ends the
// session with an `error` event and close code 1008. Ending the session releases what is held.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { Principal } from '../auth/principal.js';
import { metricModelLabel } from '../config/catalog.js';
import { GatewayError } from '../errors/catalogue.js';
import type { MediaAdmission, MediaMeter, MediaOutcome } from '../metering/media-meter.js';
import { realtimeCharge, realtimeReserve, type SettledCharge } from '../metering/media-price.js';
import { realtimeProviders, type RealtimeUsage } from '../providers/realtime.js';
import { forwardedRequestHeaders, pickHeaders } from '../proxy/headers.js';
import { type MeteredRequestDeps, routeModel } from './metered-request.js';
import { parseRequestTarget } from './request-path.js';
import { toGatewayError } from './send.js';

export interface RealtimeSessionDeps extends Pick<MeteredRequestDeps, 'config' | 'upstreams' | 'metrics' | 'logger'> {
  mediaMeter: MediaMeter;
}

export interface RealtimeSessions {
  // Serves one upgrade. Throws a GatewayError while the client's handshake is still unanswered
  // (the caller writes it to the socket); once the session runs, it ends on its own.
  open(req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal, requestId: string): Promise<void>;
}

const keyProtocolPrefix = 'openai-insecure-api-key.';

const offeredProtocols = (headers: IncomingHttpHeaders): string[] =>
  (headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');

// The Tollgate key a browser sends as a subprotocol (browsers cannot set Authorization on a websocket).
export const realtimeProtocolKey = (headers: IncomingHttpHeaders): string | undefined =>
  offeredProtocols(headers)
    .find((p) => p.startsWith(keyProtocolPrefix))
    ?.slice(keyProtocolPrefix.length);

// RFC 6455 close codes an endpoint may send (1005 and 1006 are only ever reported, never sent).
const sendableCloseCode = (code: number): boolean => (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
const policyViolation = 1008;
const internalError = 1011;

// ws refuses a malformed handshake by itself and never hands the socket over: check first, so
// nothing is reserved or opened upstream for a request that cannot become a session.
const websocketKeyPattern = /^[+/0-9A-Za-z]{22}==$/;
function checkHandshake(req: IncomingMessage): void {
  const key = req.headers['sec-websocket-key'];
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string' || !websocketKeyPattern.test(key) || req.headers['sec-websocket-version'] !== '13') {
    throw new GatewayError('invalid_request', 'Not a valid websocket handshake (RFC 6455, version 13).');
  }
}

// Pauses reading from one side while anything holds it: the other side's send queue over its
// bound, or the session renewing its reservation between two responses.
function createGate(ws: WebSocket) {
  const holds = new Set<'backpressure' | 'renewing'>();
  return {
    hold(reason: 'backpressure' | 'renewing') {
      holds.add(reason);
      ws.pause();
    },
    release(reason: 'backpressure' | 'renewing') {
      holds.delete(reason);
      if (holds.size === 0) ws.resume();
    },
  };
}

export function createRealtimeSessions(deps: RealtimeSessionDeps): RealtimeSessions {
  const { config, upstreams, mediaMeter, metrics, logger } = deps;
  const limits = config.realtime;
  // The 101 answer's extra headers (request id, x-ratelimit-*), by request, until ws writes it.
  const answerHeaders = new WeakMap<IncomingMessage, Readonly<Record<string, string>>>();
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has('realtime') ? 'realtime' : false),
  });
  server.on('headers', (headers, req) => {
    for (const [name, value] of Object.entries(answerHeaders.get(req) ?? {})) headers.push(`${name}: ${value}`);
  });

  function connectUpstream(url: string, protocols: string[], headers: Record<string, string>): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { headers, perMessageDeflate: false, maxPayload: limits.maxFrameBytes, handshakeTimeout: config.upstream.connectTimeoutMs, followRedirects: false });
      ws.once('open', () => {
        // Events the provider sends at once (session.created) would be emitted before the session
        // listens; reading waits until the client's side is open too.
        ws.pause();
        resolve(ws);
      });
      ws.once('unexpected-response', (request, response) => {
        request.destroy();
        reject(new GatewayError('upstream_error', `The provider refused the realtime session (HTTP ${response.statusCode}).`));
      });
      // Kept after the handshake too: an error before the session listens must not go unhandled.
      ws.on('error', () => reject(new GatewayError('upstream_error', 'The provider could not be reached for the realtime session.')));
    });
  }

  return {
    async open(req, socket, head, principal, requestId) {
      const startedMs = performance.now();
      checkHandshake(req);
      const query = new URLSearchParams(parseRequestTarget(req.url).search);
      if (query.has('call_id')) throw new GatewayError('invalid_request', 'Connections to an existing call (call_id) are not metered; open the session with ?model=.', 'call_id');
      const name = query.get('model');
      if (!name) throw new GatewayError('invalid_request', 'model: name a realtime model in the query (?model=...).', 'model');
      const { model, upstream } = routeModel(name, principal, config, upstreams);
      const realtime = realtimeProviders[upstream.config.kind];
      if (!realtime || model.kind !== 'realtime') {
        const why = realtime ? `is a ${model.kind ?? 'text'} model, not a realtime one` : 'is served by a provider without a realtime API';
        throw new GatewayError('invalid_request', `The model "${name}" ${why}.`, 'model');
      }
      const modelLabel = metricModelLabel(model);
      const reserve = realtimeReserve(model);
      let responses = 0;
      // One reservation per response: its id is the session's request id and the response's number.
      const admit = () => mediaMeter.admit({ requestId: `${requestId}:${++responses}`, principal, model, reserve, headers: req.headers });
      let admission: MediaAdmission | undefined = await admit();
      let responseStartedMs: number | null = null;

      const settleHeld = async (outcome: Omit<MediaOutcome, 'stream' | 'ttfbMs'>): Promise<void> => {
        const held = admission;
        admission = undefined;
        await held?.settle({ ...outcome, stream: true, ttfbMs: null }).catch((err: unknown) => logger.error({ requestId, err }, 'settle failed'));
      };

      let up: WebSocket;
      try {
        const target = realtime.target(upstream.config, model.upstreamModel);
        const protocols = realtime.forwardedSubprotocols(offeredProtocols(req.headers));
        up = await connectUpstream(upstream.origin.replace(/^http/, 'ws') + target.path, protocols, { ...pickHeaders(req.headers, forwardedRequestHeaders), ...target.headers });
      } catch (err) {
        const error = toGatewayError(err);
        await settleHeld({ status: error.status, errorCode: error.code, settled: undefined, latencyMs: Math.round(performance.now() - startedMs) });
        throw error;
      }
      if (socket.destroyed || !socket.writable) {
        up.terminate();
        await settleHeld({ status: 0, errorCode: 'client_disconnected', settled: undefined, latencyMs: Math.round(performance.now() - startedMs) });
        return;
      }
      answerHeaders.set(req, { ...admission.headers, 'x-request-id': requestId });
      // ws destroys a socket it cannot upgrade without calling back: the upstream goes with it.
      let handed = false;
      socket.once('close', () => {
        if (handed) return;
        up.terminate();
        void settleHeld({ status: 0, errorCode: 'client_disconnected', settled: undefined, latencyMs: Math.round(performance.now() - startedMs) });
      });
      server.handleUpgrade(req, socket, head, (client) => {
        handed = true;
        run(client, up);
      });

      function run(client: WebSocket, up: WebSocket): void {
        const clientGate = createGate(client);
        const upGate = createGate(up);
        let lastActivityMs = Date.now();
        let inResponse = 0;
        let finished = 0;
        let ended = false;
        let renewal: Promise<void> = Promise.resolve();
        const idleTimer = setInterval(() => {
          if (Date.now() - lastActivityMs >= limits.idleTimeoutMs) end('idle_timeout', 1000, 'idle_timeout');
        }, Math.max(50, Math.floor(limits.idleTimeoutMs / 4)));
        idleTimer.unref();
        const sessionTimer = setTimeout(() => end('session_limit', 1000, 'session_limit'), limits.maxSessionMs);
        sessionTimer.unref();

        const forward = (to: WebSocket, fromGate: ReturnType<typeof createGate>, data: RawData, isBinary: boolean) => {
          lastActivityMs = Date.now();
          to.send(data, { binary: isBinary }, () => {
            if (to.bufferedAmount <= limits.maxBufferedBytes) fromGate.release('backpressure');
          });
          if (to.bufferedAmount > limits.maxBufferedBytes) fromGate.hold('backpressure');
        };

        // Settles the response that finished and reserves the next. The client is not read
        // meanwhile, so it cannot start a response no reservation covers.
        const renew = async (usage: RealtimeUsage | undefined): Promise<void> => {
          clientGate.hold('renewing');
          const startedAt = responseStartedMs;
          responseStartedMs = null;
          // A response that reports no usage is charged what was reserved for it.
          const settled: SettledCharge = usage ? { charge: realtimeCharge(model, usage), estimated: false } : { charge: reserve, estimated: true };
          await settleHeld({ status: 200, errorCode: null, settled, latencyMs: startedAt === null ? 0 : Math.round(performance.now() - startedAt) });
          metrics.requests.inc({ route: 'realtime', model: modelLabel, status: '200' });
          metrics.tokens.inc({ model: modelLabel, direction: 'input' }, settled.charge.promptTokens);
          metrics.tokens.inc({ model: modelLabel, direction: 'output' }, settled.charge.completionTokens);
          if (ended) return;
          try {
            admission = await admit();
          } catch (err) {
            const error = toGatewayError(err);
            const event = { type: 'error', event_id: `event_tollgate_${requestId}_${responses}`, error: { type: error.type, code: error.code, message: error.message, param: null, event_id: null } };
            client.send(JSON.stringify(event));
            end(error.code, policyViolation, error.code);
            return;
          }
          clientGate.release('renewing');
        };

        const end = (reason: string, clientCode: number, clientReason: string | Buffer, upCode = 1000) => {
          if (ended) return;
          ended = true;
          clearInterval(idleTimer);
          clearTimeout(sessionTimer);
          if (client.readyState === WebSocket.OPEN) client.close(clientCode, clientReason);
          if (up.readyState === WebSocket.OPEN) up.close(upCode);
          // Sockets that do not finish their closing handshake are cut.
          setTimeout(() => {
            client.terminate();
            up.terminate();
          }, 1_000).unref();
          void renewal.then(async () => {
            // A response cut off mid-way is charged what was reserved for it; an idle hold is released.
            const cut = inResponse > 0;
            await settleHeld({
              status: cut ? 0 : 200,
              errorCode: cut ? reason : null,
              settled: cut ? { charge: reserve, estimated: true } : undefined,
              latencyMs: responseStartedMs === null ? 0 : Math.round(performance.now() - responseStartedMs),
            });
            logger.info({ requestId, route: 'realtime', model: model.name, keyId: principal.keyId, responses: finished, reason, ms: Math.round(performance.now() - startedMs) }, 'realtime session');
          });
        };

        client.on('message', (data, isBinary) => forward(up, clientGate, data, isBinary));
        up.on('message', (data, isBinary) => {
          forward(client, upGate, data, isBinary);
          if (isBinary) return;
          const event = realtime!.responseEvent(data as Buffer);
          if (event?.kind === 'started') {
            inResponse++;
            responseStartedMs ??= performance.now();
          } else if (event?.kind === 'finished') {
            inResponse = Math.max(0, inResponse - 1);
            finished++;
            renewal = renewal.then(() => renew(event.usage));
          }
        });
        client.on('close', (code) => end('client_disconnected', 1000, '', sendableCloseCode(code) ? code : 1000));
        up.on('close', (code, reason) => end('upstream_closed', sendableCloseCode(code) ? code : internalError, reason));
        client.on('error', () => end('client_error', internalError, ''));
        up.on('error', () => end('upstream_error', internalError, 'upstream_error'));
        up.resume();
      }
    },
  };
}
