// Admin credentials to an Actor: an admin key (tga-…, looked up in Postgres) or a JWT from the
// configured issuer (HS256 secret, or JWKS with an allow list of algorithms), whose `sub` names
// the user and a claim the role. A JWT must carry exp and the configured aud and live at most
// maxAgeSec; a non-admin one must name a Tollgate user (id or email) or an org (orgClaim), or it
// would read every org. With neither, a web console session (src/console/) may stand in: the
// console resolves its cookie to the same Actor, so RBAC is the same as for the credential itself.
import type { IncomingHttpHeaders } from 'node:http';
import { and, eq, sql } from 'drizzle-orm';
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { orgs, users } from '../../drizzle/schema/index.js';
import { credentialFrom } from '../auth/authenticate.js';
import type { ParsedConfig } from '../config/schema.js';
import { findAdminKey } from '../control/admin-keys.js';
import { type Actor, type Role, roles } from '../control/actor.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';

export type AdminAuthenticator = (headers: IncomingHttpHeaders) => Promise<Actor | undefined>;

type JwtConfig = NonNullable<ParsedConfig['admin']['jwt']>;

const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

function tokenFrom(headers: IncomingHttpHeaders): string | undefined {
  const header = headers['x-admin-key'];
  return typeof header === 'string' && header !== '' ? header.trim() : credentialFrom(headers);
}

// What kind of credential a request carried, for logs and metrics of refused requests.
export function credentialKind(headers: IncomingHttpHeaders): 'none' | 'jwt' | 'admin_key' {
  const token = tokenFrom(headers);
  return !token ? 'none' : looksLikeJwt(token) ? 'jwt' : 'admin_key';
}

const refuse = (reason: string) => new GatewayError('admin_unauthorized', reason);

// jose's error codes, as reasons a caller (and the log) can act on.
const joseReasons: Record<string, string> = {
  ERR_JWT_EXPIRED: 'The JWT has expired.',
  ERR_JOSE_ALG_NOT_ALLOWED: 'The JWT is signed with an algorithm this gateway does not accept.',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'The JWT signature does not verify.',
  ERR_JWKS_NO_MATCHING_KEY: 'No key of the issuer matches the JWT.',
};

function joseReason(err: unknown): string {
  const { code, claim } = (err ?? {}) as { code?: string; claim?: string };
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return `The JWT's ${claim ?? ''} claim is missing or not what this gateway expects.`;
  return (code && joseReasons[code]) ?? 'The JWT is invalid.';
}

export function createAdminAuthenticator(db: Db, jwt: JwtConfig | undefined, sessionActor?: AdminAuthenticator): AdminAuthenticator {
  const key: Uint8Array | JWTVerifyGetKey | undefined = jwt?.secret ? new TextEncoder().encode(jwt.secret) : jwt?.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : undefined;

  async function verify(token: string, config: JwtConfig): Promise<JWTPayload> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as Uint8Array, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: config.secret ? ['HS256'] : config.algorithms,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw refuse(joseReason(err));
    }
    // A token valid for days is as good as a password to whoever copies it from a log or a laptop.
    const nowSec = Math.floor(Date.now() / 1000);
    const lifetimeSec = payload.exp! - (payload.iat ?? nowSec);
    if (lifetimeSec > config.maxAgeSec || payload.exp! - nowSec > config.maxAgeSec) {
      throw refuse(`The JWT is valid for longer than ${config.maxAgeSec} seconds (admin.jwt.maxAgeSec).`);
    }
    return payload;
  }

  // The user `sub` names, by id or else by email (within the claimed org when there is one).
  async function userOf(sub: string, orgId: string | null) {
    const columns = { id: users.id, orgId: users.orgId, active: users.active };
    const [byId] = await db.select(columns).from(users).where(eq(users.id, sub));
    if (byId) return byId;
    const byEmail = await db
      .select(columns)
      .from(users)
      .where(and(sql`lower(${users.email}) = lower(${sub})`, orgId ? eq(users.orgId, orgId) : undefined))
      .limit(2);
    if (byEmail.length > 1) throw refuse('The JWT sub is the email of several users: use the user id, or add the org claim.');
    return byEmail[0];
  }

  async function fromJwt(token: string, config: JwtConfig): Promise<Actor> {
    const payload = await verify(token, config);
    const sub = payload.sub!;
    const role = payload[config.roleClaim];
    if (!(roles as readonly unknown[]).includes(role)) throw refuse(`The JWT needs a ${config.roleClaim} claim naming one of ${roles.join(', ')}.`);
    const claimed = config.orgClaim ? payload[config.orgClaim] : undefined;
    if (claimed !== undefined && (typeof claimed !== 'string' || claimed === '')) throw refuse(`The JWT's ${config.orgClaim} claim must be an org id.`);
    const orgId = claimed ?? null;
    if (orgId && (await db.select({ id: orgs.id }).from(orgs).where(eq(orgs.id, orgId))).length === 0) throw refuse(`The JWT's ${config.orgClaim} claim names no org.`);
    const user = await userOf(sub, orgId);
    if (user && orgId && user.orgId !== orgId) throw refuse(`The JWT's user is not in the org of its ${config.orgClaim} claim.`);
    if (user && !user.active) throw refuse('The user of this JWT is deactivated.');
    if (!user && !orgId && role !== 'admin') {
      throw refuse(`A ${String(role)} JWT must name a Tollgate user (sub = user id or email)${config.orgClaim ? ` or an org (${config.orgClaim} claim)` : ''}.`);
    }
    return { type: 'jwt', id: sub, role: role as Role, userId: user?.id ?? null, orgId: orgId ?? user?.orgId ?? null };
  }

  return async (headers) => {
    const token = tokenFrom(headers);
    if (!token) return sessionActor?.(headers);
    if (jwt && looksLikeJwt(token)) return fromJwt(token, jwt);
    const found = await findAdminKey(db, token, Date.now());
    if (!found) throw refuse('The admin key is not valid, revoked or expired.');
    return { type: 'admin_key', id: found.id, role: found.role, userId: found.userId };
  };
}
