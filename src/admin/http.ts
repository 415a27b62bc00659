// The admin API over HTTP: /admin/v1/* in, JSON (or CSV) out, errors in the data plane's
// catalogue and OpenAI shape. Mounted by the gateway for paths under /admin/. Every refused
// credential and every request a role may not make is logged (never the token) and counted, so
// probing shows up on a dashboard rather than nowhere.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Actor } from '../control/actor.js';
import { GatewayError } from '../errors/catalogue.js';
import { parseJsonBody } from '../http/parse-json.js';
import { readBody } from '../server/read-body.js';
import { sendJson } from '../server/send.js';
import { type AdminAuthenticator, credentialKind } from './authenticate.js';
import type { AdminRouter } from './router.js';

export type AdminHttpHandler = (req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<void>;

// The one metric this handler feeds (src/metrics/metrics.ts adminDenials).
export interface DenialCounter {
  inc(labels: { code: string; credential: string }): void;
}

export interface AdminHttpDeps {
  authenticate: AdminAuthenticator;
  router: AdminRouter;
  openapi: object;
  logger: Pick<Logger, 'warn'>;
  denials: DenialCounter;
}

const base = '/admin/v1';
const maxBodyBytes = 10 * 1024 * 1024;

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (req.method === 'GET' || req.method === 'DELETE') return undefined;
  const raw = await readBody(req, maxBodyBytes);
  if (raw.toString('utf8').trim() === '') return undefined;
  return parseJsonBody(raw);
}

const isDenial = (err: unknown): err is GatewayError => err instanceof GatewayError && (err.code === 'admin_unauthorized' || err.code === 'forbidden');

export function createAdminHttpHandler(deps: AdminHttpDeps): AdminHttpHandler {
  return async (req, res, requestId) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (!url.pathname.startsWith(`${base}/`)) throw new GatewayError('route_not_found', `No route for ${req.method} ${url.pathname}.`);
    const path = url.pathname.slice(base.length);
    const headers = { 'x-request-id': requestId };
    // The document describes the API, not its data: served without credentials like any spec.
    if (req.method === 'GET' && path === '/openapi.json') return sendJson(res, 200, deps.openapi, headers);
    let actor: Actor | undefined;
    try {
      actor = await deps.authenticate(req.headers);
      const reply = await deps.router({ method: req.method ?? 'GET', path, query: Object.fromEntries(url.searchParams), body: await readJson(req), requestId, actor });
      if ('raw' in reply) {
        res.writeHead(reply.status, { ...headers, 'content-type': reply.raw.contentType, 'content-length': Buffer.byteLength(reply.raw.text) });
        res.end(reply.raw.text);
        return;
      }
      sendJson(res, reply.status, reply.body, headers);
    } catch (err) {
      if (isDenial(err)) {
        const credential = actor?.type ?? credentialKind(req.headers);
        deps.denials.inc({ code: err.code, credential });
        deps.logger.warn(
          { requestId, method: req.method, path: url.pathname, code: err.code, reason: err.message, credential, actorId: actor?.id ?? null, role: actor?.role ?? null },
          'admin request denied',
        );
      }
      throw err;
    }
  };
}
