// Raw pass-through (http-proxy-3) for authenticated /v1/* paths that are not metered routes, and
// for websocket upgrades such as the realtime API. The client's Tollgate key is removed and the
// provider's credential put in its place; nothing is metered here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import type { Upstream } from './upstreams.js';

export interface Passthrough {
  web(req: IncomingMessage, res: ServerResponse, upstream: Upstream, upstreamPath: string): void;
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, upstream: Upstream, upstreamPath: string): void;
  close(): void;
}

export interface PassthroughOptions {
  credentials(upstream: Upstream): Record<string, string>;
  // Answers a failed exchange: an error body when nothing was sent yet, else a cut connection.
  onError(err: Error, target: ServerResponse | Duplex | undefined): void;
}

export function createPassthrough({ credentials, onError }: PassthroughOptions): Passthrough {
  const proxy = createProxyServer({ changeOrigin: true, xfwd: false, ignorePath: true });
  proxy.on('error', (err, _req, target) => onError(err, target as ServerResponse | Duplex | undefined));
  const prepare = (req: IncomingMessage, upstream: Upstream, upstreamPath: string) => {
    delete req.headers.authorization;
    delete req.headers['x-api-key'];
    return { target: upstream.origin + upstreamPath, headers: credentials(upstream) };
  };
  return {
    web(req, res, upstream, upstreamPath) {
      proxy.web(req, res, prepare(req, upstream, upstreamPath));
    },
    ws(req, socket, head, upstream, upstreamPath) {
      const options = prepare(req, upstream, upstreamPath);
      proxy.ws(req, socket, head, { ...options, target: options.target.replace(/^http/, 'ws') });
    },
    close: () => proxy.close(),
  };
}
