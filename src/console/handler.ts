// The web console under /dashboard: the page and its assets, sign-in and sign-out, and what a
// signed-in Tollgate key reads and sets about itself (the same functions as GET /v1/usage,
// /v1/usage/history and /v1/alerts/preferences). Everything else the console shows comes from /admin/v1 with the cookie
// (src/admin/authenticate.ts asks sessionActor below).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from 'pino';
import { type AdminAuthenticator, credentialKind } from '../admin/authenticate.js';
import type { DenialCounter } from '../admin/http.js';
import type { Principal } from '../auth/principal.js';
import { GatewayError } from '../errors/catalogue.js';
import { parseJsonBody } from '../http/parse-json.js';
import { readBody } from '../server/read-body.js';
import { parseRequestTarget } from '../server/request-path.js';
import { sendJson } from '../server/send.js';
import { clearedCookie, sessionCookie } from './cookies.js';
import { assertConsoleRequest, assertSameOrigin } from './request-guard.js';
import type { OidcLogin } from './oidc-login.js';
import type { ConsoleSessions, SignedIn } from './sessions.js';
import type { StaticAssets } from './static-assets.js';

// No inline script or style anywhere, and nothing loaded or called outside this origin.
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const pageHeaders = {
  'content-security-policy': contentSecurityPolicy,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface ConsoleDeps {
  sessions: ConsoleSessions;
  assets: StaticAssets;
  usageStatus(principal: Principal, sessionId: string | null): Promise<unknown>;
  usageHistory(principal: Principal, query: URLSearchParams): Promise<unknown>;
  // GET and PUT /v1/alerts/preferences; absent when alerting is off.
  alertPreferences?(principal: Principal, update: unknown): Promise<unknown>;
  // 'always': Secure cookies even when TLS ends at a proxy that does not say so.
  secureCookie: 'auto' | 'always';
  // Refused sign-ins are logged (never the credential) and counted with the admin API's refusals.
  logger: Pick<Logger, 'warn'>;
  denials: DenialCounter;
  // SSO, when console.oidc is configured.
  oidc?: OidcLogin | undefined;
}

export interface Console {
  handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void>;
  // For the admin API: the Actor of a console request, undefined when it carries no session.
  sessionActor: AdminAuthenticator;
}

const signInBody = z.object({ credential: z.string().trim().min(1).max(8_192) });

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  headers: Record<string, string>;
  search: string;
}

export function createConsole(deps: ConsoleDeps): Console {
  const { sessions, assets } = deps;
  const secure = (req: IncomingMessage) => deps.secureCookie === 'always' || 'encrypted' in req.socket || req.headers['x-forwarded-proto'] === 'https';

  const who = ({ session, actor, principal }: SignedIn) => ({
    kind: session.credential.kind,
    role: actor.role,
    actorId: actor.id,
    userId: actor.userId,
    orgId: actor.orgId ?? principal?.orgId ?? null,
    csrfToken: session.csrfToken,
    expiresAt: new Date(session.expiresAtMs).toISOString(),
  });

  async function signedIn(headers: IncomingHttpHeaders): Promise<SignedIn> {
    const found = await sessions.resolve(headers);
    if (!found) throw new GatewayError('admin_unauthorized', 'Sign in to the console first.');
    assertConsoleRequest(headers, found.session);
    return found;
  }

  async function selfPrincipal(headers: IncomingHttpHeaders): Promise<Principal> {
    const { principal } = await signedIn(headers);
    if (!principal) throw new GatewayError('forbidden', 'The self-service view is for a Tollgate API key; admin credentials read usage through /admin/v1/usage.');
    return principal;
  }

  // A session for the credential and its cookie; a refusal is logged and counted, never the credential.
  async function signIn(token: string, req: IncomingMessage, headers: Record<string, string>): Promise<{ cookie: string; found: SignedIn }> {
    const credential = token.startsWith('tg-') ? 'api_key' : credentialKind({ authorization: `Bearer ${token}` });
    try {
      const { id, signedIn: found } = await sessions.signIn(token);
      const maxAgeSec = Math.max(1, Math.floor((found.session.expiresAtMs - Date.now()) / 1000));
      return { cookie: sessionCookie(id, maxAgeSec, secure(req)), found };
    } catch (err) {
      if (err instanceof GatewayError) {
        deps.denials.inc({ code: err.code, credential });
        deps.logger.warn({ requestId: headers['x-request-id'], code: err.code, reason: err.message, credential }, 'console sign-in refused');
      }
      throw err;
    }
  }

  function send(res: ServerResponse, status: number, body: Buffer, headers: Record<string, string>): void {
    res.writeHead(status, { ...pageHeaders, ...headers, 'content-length': body.length });
    res.end(body);
  }

  const routes: Record<string, (ctx: Context) => Promise<void> | void> = {
    'GET /dashboard': ({ res }) => send(res, 200, assets.indexHtml, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }),
    async 'GET /dashboard/session'({ req, res, headers }) {
      const found = await sessions.resolve(req.headers);
      if (!found) throw new GatewayError('admin_unauthorized', 'Not signed in.');
      sendJson(res, 200, who(found), { ...pageHeaders, ...headers, 'cache-control': 'no-store' });
    },
    async 'POST /dashboard/session'({ req, res, headers }) {
      assertSameOrigin(req.headers);
      const body = signInBody.safeParse(parseJsonBody(await readBody(req, 16_384)));
      if (!body.success) throw new GatewayError('invalid_request', 'body.credential: paste an admin key, an admin JWT or your Tollgate API key.', 'credential');
      const { cookie, found } = await signIn(body.data.credential, req, headers);
      sendJson(res, 201, who(found), { ...pageHeaders, ...headers, 'cache-control': 'no-store', 'set-cookie': cookie });
    },
    'GET /dashboard/config': ({ res, headers }) => sendJson(res, 200, { oidc: Boolean(deps.oidc) }, { ...headers, 'cache-control': 'no-cache' }),
    async 'GET /dashboard/oidc/login'({ req, res, headers }) {
      if (!deps.oidc) throw new GatewayError('route_not_found', 'Single sign-on is not configured (console.oidc).');
      const { location, cookie } = await deps.oidc.start(req, secure(req));
      res.writeHead(302, { ...pageHeaders, ...headers, location, 'set-cookie': cookie, 'cache-control': 'no-store' });
      res.end();
    },
    async 'GET /dashboard/oidc/callback'({ req, res, headers, search }) {
      if (!deps.oidc) throw new GatewayError('route_not_found', 'Single sign-on is not configured (console.oidc).');
      const idToken = await deps.oidc.finish(req, search, secure(req));
      const { cookie } = await signIn(idToken, req, headers);
      res.writeHead(302, { ...pageHeaders, ...headers, location: '/dashboard', 'set-cookie': [cookie, deps.oidc.clearCookie(secure(req))], 'cache-control': 'no-store' });
      res.end();
    },
    async 'DELETE /dashboard/session'({ req, res, headers }) {
      await signedIn(req.headers);
      await sessions.signOut(req.headers);
      sendJson(res, 200, { signedOut: true }, { ...pageHeaders, ...headers, 'set-cookie': clearedCookie(secure(req)) });
    },
    async 'GET /dashboard/api/usage'({ req, res, headers, search }) {
      const principal = await selfPrincipal(req.headers);
      const session = new URLSearchParams(search).get('session');
      sendJson(res, 200, await deps.usageStatus(principal, session || null), { ...headers, 'cache-control': 'no-store' });
    },
    async 'GET /dashboard/api/usage/history'({ req, res, headers, search }) {
      const principal = await selfPrincipal(req.headers);
      sendJson(res, 200, await deps.usageHistory(principal, new URLSearchParams(search)), { ...headers, 'cache-control': 'no-store' });
    },
    'GET /dashboard/api/alerts/preferences': (ctx) => preferences(ctx, false),
    'PUT /dashboard/api/alerts/preferences': (ctx) => preferences(ctx, true),
  };

  async function preferences({ req, res, headers }: Context, update: boolean): Promise<void> {
    const principal = await selfPrincipal(req.headers);
    if (!deps.alertPreferences) throw new GatewayError('not_found', 'Alerting is turned off on this gateway.');
    const body = update ? parseJsonBody(await readBody(req, 16_384)) : undefined;
    sendJson(res, 200, await deps.alertPreferences(principal, body), { ...headers, 'cache-control': 'no-store' });
  }

  const assetPath = /^\/dashboard\/assets\/([0-9a-f]{16})\/([\w./-]+)$/;

  return {
    async handle(req, res, requestId) {
      const { path, search } = parseRequestTarget(req.url);
      const method = req.method ?? 'GET';
      const headers = { 'x-request-id': requestId };
      const asset = assetPath.exec(path);
      if (asset && (method === 'GET' || method === 'HEAD')) {
        const found = path.includes('..') ? undefined : assets.find(asset[1]!, asset[2]!);
        if (!found) throw new GatewayError('route_not_found', `No console asset ${path}.`);
        return send(res, 200, found.body, { ...headers, 'content-type': found.contentType, 'cache-control': 'public, max-age=31536000, immutable' });
      }
      const handler = routes[`${method} ${path === '/dashboard/' ? '/dashboard' : path}`];
      if (!handler) throw new GatewayError('route_not_found', `No console route ${method} ${path}.`);
      await handler({ req, res, headers, search });
    },
    async sessionActor(headers) {
      const found = await sessions.resolve(headers);
      if (!found) return undefined;
      assertConsoleRequest(headers, found.session);
      return found.actor;
    },
  };
}
