// Forwards one allow-listed, unmetered call (src/proxy/passthrough-routes.ts) to the provider with
// the provider's credential in place of the client's key. Plain requests go through the provider's
// undici pool with the shared header allow-lists (src/proxy/headers.ts); websocket upgrades (the
// realtime API) through http-proxy-3. The gateway has already authenticated, checked scopes, cost
// and ownership; this module only moves bytes and reads back the id of a created object.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createProxyServer } from 'http-proxy-3';
import { GatewayError } from '../errors/catalogue.js';
import { bodyRequestHeaders, clientResponseHeaders, droppedResponseHeaders, forwardedRequestHeaders, pickHeaders, websocketRequestHeaders } from './headers.js';
import type { Upstream } from './upstreams.js';

export interface PassthroughCall {
  readonly upstream: Upstream;
  // The upstream path, query included, built from the normalised client path.
  readonly path: string;
  readonly maxBodyBytes: number;
  // Set for routes that create an object: called with the answer's `id` before the answer is released.
  readonly onCreated?: ((objectId: string) => Promise<void>) | undefined;
  // Headers the gateway adds to the answer (request id).
  readonly responseHeaders: Readonly<Record<string, string>>;
}

export interface Passthrough {
  // Resolves with the upstream status once the answer is sent; throws a GatewayError while nothing is.
  web(req: IncomingMessage, res: ServerResponse, call: PassthroughCall): Promise<number>;
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, upstream: Upstream, upstreamPath: string): void;
  // Cuts every open websocket, including upstream halves that never close on their own.
  close(): void;
}

export interface PassthroughOptions {
  credentials(upstream: Upstream): Record<string, string>;
  // A websocket exchange failed: the client socket, when there is one, is to be answered or cut.
  onWsError(err: Error, target: Duplex | undefined): void;
}

// A create answer is a small JSON object; anything larger is relayed without being parsed.
const maxCreatedAnswerBytes = 1024 * 1024;
const handshakeResponseHeaders: ReadonlySet<string> = new Set(['connection', 'upgrade']);
const timeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

async function* limited(body: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (seen > maxBytes) throw new GatewayError('body_too_large');
    yield chunk;
  }
}

function createdId(body: Buffer): string | undefined {
  try {
    const id = (JSON.parse(body.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' && id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

export function createPassthrough({ credentials, onWsError }: PassthroughOptions): Passthrough {
  const proxy = createProxyServer({ changeOrigin: true, xfwd: false, ignorePath: true });
  proxy.on('error', (err, _req, target) => onWsError(err, target as Duplex | undefined));
  // Both halves of every websocket: either closing cuts the other, so an upstream that keeps its
  // side half-open cannot outlive the client (or a drain).
  const sockets = new Set<Duplex>();
  proxy.on('proxyReqWs', (proxyReq, _req, socket) => {
    // Runs before http-proxy-3 copies the handshake answer to the client: the same answer headers
    // stay behind as on every other path, except the two the handshake itself needs.
    proxyReq.once('upgrade', (proxyRes: IncomingMessage, proxySocket: Duplex) => {
      for (const name of droppedResponseHeaders) if (!handshakeResponseHeaders.has(name)) delete proxyRes.headers[name];
      sockets.add(proxySocket);
      proxySocket.once('close', () => {
        sockets.delete(proxySocket);
        socket.destroy();
      });
      if (socket.destroyed) proxySocket.destroy();
      else socket.once('close', () => proxySocket.destroy());
    });
  });

  return {
    async web(req, res, call) {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > call.maxBodyBytes) throw new GatewayError('body_too_large');
      const hasBody = req.method === 'POST';
      const headers = {
        ...pickHeaders(req.headers, forwardedRequestHeaders),
        ...(hasBody ? pickHeaders(req.headers, bodyRequestHeaders) : {}),
        'accept-encoding': 'identity',
        ...credentials(call.upstream),
      };
      const abort = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      let answer;
      try {
        answer = await call.upstream.pool.request({
          method: req.method as 'GET' | 'POST' | 'DELETE',
          path: call.path,
          headers,
          body: hasBody ? Readable.from(limited(req, call.maxBodyBytes)) : null,
          signal: abort.signal,
        });
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        throw new GatewayError(timeoutCodes.has((err as { code?: string }).code ?? '') ? 'upstream_timeout' : 'upstream_error');
      }
      const outHeaders = { ...clientResponseHeaders(answer.headers), ...call.responseHeaders };
      if (call.onCreated && answer.statusCode < 300) {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of answer.body) {
          size += (chunk as Buffer).length;
          if (size <= maxCreatedAnswerBytes) chunks.push(chunk as Buffer);
        }
        const body = Buffer.concat(chunks);
        const id = size <= maxCreatedAnswerBytes ? createdId(body) : undefined;
        // Recorded before the client learns the id, so its first read already finds the owner.
        if (id) await call.onCreated(id);
        res.writeHead(answer.statusCode, { ...outHeaders, 'content-length': String(body.length) });
        res.end(body);
        return answer.statusCode;
      }
      res.writeHead(answer.statusCode, outHeaders);
      // A failure mid-answer can only cut the connection: the status is already out.
      await pipeline(answer.body, res).catch(() => res.destroy());
      return answer.statusCode;
    },
    ws(req, socket, head, upstream, upstreamPath) {
      // http-proxy-3 copies req.headers upstream: replace them with the allow-listed handshake.
      req.headers = { ...pickHeaders(req.headers, [...forwardedRequestHeaders, ...websocketRequestHeaders]), connection: 'Upgrade', upgrade: 'websocket' };
      const target = upstream.origin.replace(/^http/, 'ws') + upstreamPath;
      proxy.ws(req, socket, head, { target, headers: credentials(upstream) });
    },
    close() {
      for (const socket of sockets) socket.destroy();
      proxy.close();
    },
  };
}
