// CORS for browser apps calling the gateway's API directly. Only origins named in config are ever
// written back (never `*`, never an origin the request merely sent), preflights are answered
// without a key (browsers send none), and every answer to a request with an Origin says
// `Vary: Origin` so a shared cache never hands one origin's answer to another. Off, it costs one
// branch per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';

// An origin is scheme://host[:port] with nothing after it, as browsers send it.
const origin = z
  .string()
  .refine((text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
    } catch {
      return false;
    }
  }, 'must be an origin such as https://app.example.com (scheme, host and port only; "*" is not allowed)');

export const corsSchema = z
  .object({
    // Browser origins allowed to call the API; empty turns CORS off.
    origins: z.array(origin).default([]),
    // Let those origins send cookies or HTTP auth (Access-Control-Allow-Credentials). API keys in
    // an Authorization header do not need it.
    allowCredentials: z.boolean().default(false),
    // Request headers a browser may send, beyond the CORS-safelisted ones.
    allowHeaders: z
      .array(z.string().regex(/^[A-Za-z0-9-]+$/))
      .default(['authorization', 'content-type', 'x-api-key', 'anthropic-version', 'anthropic-beta', 'openai-beta', 'openai-organization', 'openai-project', 'x-session-id', 'x-stainless-retry-count']),
    // Answer headers a browser script may read.
    exposeHeaders: z.array(z.string().regex(/^[A-Za-z0-9-]+$/)).default(['x-request-id', 'x-tollgate-overhead-ms', 'retry-after', 'x-ratelimit-remaining-tokens', 'x-ratelimit-remaining-requests']),
    // How long a browser may cache a preflight answer.
    maxAgeSeconds: z.number().int().min(0).max(86_400).default(600),
  })
  .prefault({});

export type CorsConfig = z.output<typeof corsSchema>;

export interface Cors {
  // Writes the CORS headers this request gets; true when it was a preflight, now answered.
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

const allowedMethods = 'GET, POST, PUT, DELETE';

export function createCors(config: CorsConfig): Cors | undefined {
  if (config.origins.length === 0) return undefined;
  const origins = new Set(config.origins);
  const allowHeaders = config.allowHeaders.join(', ');
  const exposeHeaders = config.exposeHeaders.join(', ');
  const maxAge = String(config.maxAgeSeconds);
  return {
    handle(req, res) {
      const sent = req.headers.origin;
      if (sent === undefined) return false;
      res.setHeader('vary', 'Origin');
      const allowed = origins.has(sent);
      const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
      if (allowed) {
        res.setHeader('access-control-allow-origin', sent);
        if (config.allowCredentials) res.setHeader('access-control-allow-credentials', 'true');
        if (!preflight) res.setHeader('access-control-expose-headers', exposeHeaders);
      }
      if (!preflight) return false;
      // A refused origin gets a plain 204 without allow headers: the browser then blocks the call,
      // and nothing in the answer confirms which origins are allowed.
      if (allowed) {
        res.setHeader('access-control-allow-methods', allowedMethods);
        res.setHeader('access-control-allow-headers', allowHeaders);
        res.setHeader('access-control-max-age', maxAge);
      }
      res.writeHead(204, { 'content-length': '0' });
      res.end();
      return true;
    },
  };
}
