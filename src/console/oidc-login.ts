// OIDC authorization-code login (with PKCE and a nonce) against the issuer admin.jwt trusts. The
// ID token it brings back is then signed in exactly like a pasted admin JWT (same issuer, JWKS,
// audience = this client, role claim, user mapping, lifetime), so SSO adds no second set of rules.
// State, nonce and PKCE verifier ride in a short-lived HttpOnly cookie scoped to /dashboard/oidc,
// SameSite=Lax because the issuer's redirect back is a cross-site navigation; any replica can
// finish a login another one started.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import type { ParsedConfig } from '../config/schema.js';
import { GatewayError } from '../errors/catalogue.js';

type OidcConfig = NonNullable<ParsedConfig['console']['oidc']>;
type JwtConfig = ParsedConfig['admin']['jwt'];

export interface OidcLogin {
  // Where to send the browser, and the cookie that remembers this attempt.
  start(req: IncomingMessage, secure: boolean): Promise<{ location: string; cookie: string }>;
  // The ID token for the callback's code, once state and nonce match.
  finish(req: IncomingMessage, search: string, secure: boolean): Promise<string>;
  readonly clearCookie: (secure: boolean) => string;
}

const cookieName = 'tollgate_oidc';
const cookiePath = '/dashboard/oidc';
const pendingMaxAgeSec = 600;

const discoverySchema = z.object({ issuer: z.string(), authorization_endpoint: z.url(), token_endpoint: z.url() });
const pendingSchema = z.object({ state: z.string(), nonce: z.string(), verifier: z.string() });
const tokenSchema = z.object({ id_token: z.string() });

const refuse = (reason: string) => new GatewayError('admin_unauthorized', reason);
const random = () => randomBytes(32).toString('base64url');

// The ID token must pass the admin JWT check, so admin.jwt has to describe this issuer and client.
export function assertOidcConfig(oidc: OidcConfig, jwt: JwtConfig): void {
  if (!jwt) throw new Error('console.oidc needs admin.jwt: the ID token is checked as an admin JWT');
  if (jwt.issuer !== oidc.issuer) throw new Error(`console.oidc.issuer (${oidc.issuer}) must equal admin.jwt.issuer (${jwt.issuer})`);
  if (jwt.audience !== oidc.clientId) throw new Error(`admin.jwt.audience must be console.oidc.clientId (${oidc.clientId}): ID tokens are issued to the client`);
  if (!jwt.jwksUrl) throw new Error('console.oidc needs admin.jwt.jwksUrl (the issuer signs ID tokens with its keys)');
}

function pendingFrom(req: IncomingMessage): z.infer<typeof pendingSchema> | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name !== cookieName || !value) continue;
    try {
      return pendingSchema.parse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const pendingCookie = (value: string, maxAgeSec: number, secure: boolean) =>
  `${cookieName}=${value}; Path=${cookiePath}; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;

export function createOidcLogin(oidc: OidcConfig, jwt: JwtConfig): OidcLogin {
  assertOidcConfig(oidc, jwt);
  let discovery: Promise<z.infer<typeof discoverySchema>> | undefined;
  const discover = () =>
    (discovery ??= (async () => {
      const res = await fetch(`${oidc.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
      if (!res.ok) throw new Error(`OIDC discovery answered ${res.status}`);
      const found = discoverySchema.parse(await res.json());
      if (found.issuer !== oidc.issuer) throw new Error(`OIDC discovery names issuer ${found.issuer}, not ${oidc.issuer}`);
      return found;
    })().catch((err: unknown) => {
      discovery = undefined;
      throw err;
    }));

  const redirectUri = (req: IncomingMessage, secure: boolean) => oidc.redirectUrl ?? `${secure ? 'https' : 'http'}://${req.headers.host}${cookiePath}/callback`;

  return {
    clearCookie: (secure) => pendingCookie('', 0, secure),
    async start(req, secure) {
      const { authorization_endpoint } = await discover();
      const pending = { state: random(), nonce: random(), verifier: random() };
      const url = new URL(authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: oidc.clientId,
        redirect_uri: redirectUri(req, secure),
        scope: oidc.scopes,
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: createHash('sha256').update(pending.verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      return { location: url.toString(), cookie: pendingCookie(Buffer.from(JSON.stringify(pending)).toString('base64url'), pendingMaxAgeSec, secure) };
    },
    async finish(req, search, secure) {
      const params = new URLSearchParams(search);
      const pending = pendingFrom(req);
      if (params.get('error')) throw refuse(`The identity provider refused the login: ${params.get('error')}.`);
      if (!pending || params.get('state') !== pending.state) throw refuse('The login attempt expired or did not start here: sign in again.');
      const code = params.get('code');
      if (!code) throw refuse('The identity provider sent no code.');
      const { token_endpoint } = await discover();
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
      if (oidc.clientSecret) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(oidc.clientId)}:${encodeURIComponent(oidc.clientSecret)}`).toString('base64')}`;
      const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri(req, secure), code_verifier: pending.verifier, client_id: oidc.clientId });
      const res = await fetch(token_endpoint, { method: 'POST', headers, body });
      const answer = tokenSchema.safeParse(await res.json().catch(() => null));
      if (!res.ok || !answer.success) throw refuse(`The identity provider did not exchange the code (${res.status}).`);
      // The signature, issuer, audience and lifetime are checked when the token is signed in.
      if (decodeJwt(answer.data.id_token).nonce !== pending.nonce) throw refuse('The ID token was not issued for this login attempt.');
      return answer.data.id_token;
    },
  };
}
