// Admin credentials to an Actor: an admin key (tga-…, looked up in Postgres) or a JWT from the
// configured issuer (HS256 secret or JWKS), whose `sub` names the user and a claim the role.
import type { IncomingHttpHeaders } from 'node:http';
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { eq } from 'drizzle-orm';
import { users } from '../../drizzle/schema/index.js';
import { credentialFrom } from '../auth/authenticate.js';
import type { ParsedConfig } from '../config/schema.js';
import { findAdminKey } from '../control/admin-keys.js';
import { type Actor, type Role, roles } from '../control/actor.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';

export type AdminAuthenticator = (headers: IncomingHttpHeaders) => Promise<Actor | undefined>;

type JwtConfig = NonNullable<ParsedConfig['admin']['jwt']>;

const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

export function createAdminAuthenticator(db: Db, jwt: JwtConfig | undefined): AdminAuthenticator {
  const key: Uint8Array | JWTVerifyGetKey | undefined = jwt?.secret ? new TextEncoder().encode(jwt.secret) : jwt?.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : undefined;

  async function fromJwt(token: string, config: JwtConfig): Promise<Actor> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, key as Uint8Array, {
        issuer: config.issuer,
        ...(config.audience ? { audience: config.audience } : {}),
        ...(config.secret ? { algorithms: ['HS256'] } : {}),
      }));
    } catch {
      throw new GatewayError('admin_unauthorized', 'The JWT is invalid, expired or from another issuer.');
    }
    const role = payload[config.roleClaim];
    if (typeof payload.sub !== 'string' || !(roles as readonly unknown[]).includes(role)) {
      throw new GatewayError('admin_unauthorized', `The JWT needs a sub and a ${config.roleClaim} claim naming one of ${roles.join(', ')}.`);
    }
    const [user] = await db.select({ id: users.id, active: users.active }).from(users).where(eq(users.id, payload.sub));
    if (user && !user.active) throw new GatewayError('admin_unauthorized', 'The user of this JWT is deactivated.');
    return { type: 'jwt', id: payload.sub, role: role as Role, userId: user?.id ?? null };
  }

  return async (headers) => {
    const header = headers['x-admin-key'];
    const token = typeof header === 'string' && header !== '' ? header.trim() : credentialFrom(headers);
    if (!token) return undefined;
    if (jwt && looksLikeJwt(token)) return fromJwt(token, jwt);
    const found = await findAdminKey(db, token, Date.now());
    if (!found) throw new GatewayError('admin_unauthorized', 'The admin key is not valid, revoked or expired.');
    return { type: 'admin_key', id: found.id, role: found.role, userId: found.userId };
  };
}
