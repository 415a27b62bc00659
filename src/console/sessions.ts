// Console sign-in and the session behind the cookie. Sign-in takes an admin key or an admin JWT
// (the admin API's own checks) or a user's Tollgate key (the data plane's), and the session keeps
// only what re-checks that credential on every request, so a revoked key or deactivated user is
// signed out everywhere at once. A signed-in Tollgate key acts as its user with a developer's
// reach, capped to reading and asking (it never mints keys or changes budgets).
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { decodeJwt } from 'jose';
import type { AdminAuthenticator } from '../admin/authenticate.js';
import type { Permission } from '../admin/rbac.js';
import { authenticateHash } from '../auth/authenticate.js';
import { hashKey, keyPrefix } from '../auth/keys.js';
import type { PrincipalCache } from '../auth/principal-cache.js';
import type { Principal } from '../auth/principal.js';
import type { Actor, Role } from '../control/actor.js';
import { adminKeyPrefix, findAdminKeyByHash } from '../control/admin-keys.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import { sessionIdFrom } from './cookies.js';
import type { ConsoleSession, SessionCredential, SessionStore } from './session-store.js';

export const selfServicePermissions: ReadonlySet<Permission> = new Set<Permission>([
  'usage:read', 'budgets:read', 'quota:read', 'quota:submit', 'alerts:read', 'templates:read', 'users:read', 'keys:read',
]);

export interface SignedIn {
  readonly session: ConsoleSession;
  readonly actor: Actor;
  // Only for a Tollgate key: the principal GET /v1/usage would see.
  readonly principal: Principal | undefined;
}

export interface ConsoleSessions {
  signIn(credential: string): Promise<{ id: string; signedIn: SignedIn }>;
  // Undefined without a cookie or for an unknown or expired one; throws when the credential behind
  // a live session no longer holds.
  resolve(headers: IncomingHttpHeaders): Promise<SignedIn | undefined>;
  signOut(headers: IncomingHttpHeaders): Promise<void>;
  readonly ttlMs: number;
}

export interface ConsoleSessionsDeps {
  store: SessionStore;
  db: Db;
  principals: PrincipalCache;
  // The admin API's credential check, without the session fallback.
  verifyAdmin: AdminAuthenticator;
  ttlMs: number;
  // Only the __Host- cookie names a session (every cookie this gateway sets is Secure).
  hostOnlyCookie?: boolean;
  now?: () => number;
}

const refuse = (reason: string) => new GatewayError('admin_unauthorized', reason);

const keyActor = (principal: Principal): Actor => ({
  type: 'api_key', id: principal.keyId, role: 'developer', userId: principal.userId, orgId: principal.orgId, permissions: selfServicePermissions,
});

export function createConsoleSessions(deps: ConsoleSessionsDeps): ConsoleSessions {
  const now = deps.now ?? Date.now;

  async function actorOf(credential: SessionCredential, nowMs: number): Promise<{ actor: Actor; principal?: Principal }> {
    switch (credential.kind) {
      case 'admin_key': {
        const found = await findAdminKeyByHash(deps.db, credential.keyHash, nowMs);
        if (!found) throw refuse('The admin key of this session is revoked or expired: sign in again.');
        return { actor: { type: 'admin_key', id: found.id, role: found.role, userId: found.userId } };
      }
      case 'jwt':
        return { actor: { type: 'jwt', ...credential.actor, role: credential.actor.role as Role } };
      case 'api_key': {
        const principal = await authenticateHash(credential.keyHash, deps.principals, nowMs);
        return { actor: keyActor(principal), principal };
      }
    }
  }

  async function credentialFor(token: string, nowMs: number): Promise<{ credential: SessionCredential; expiresAtMs: number }> {
    const ttlEnd = nowMs + deps.ttlMs;
    if (token.startsWith(keyPrefix) && !token.startsWith(adminKeyPrefix)) {
      const keyHash = hashKey(token);
      const principal = await authenticateHash(keyHash, deps.principals, nowMs);
      return { credential: { kind: 'api_key', keyHash }, expiresAtMs: Math.min(ttlEnd, principal.expiresAtMs ?? ttlEnd) };
    }
    const actor = await deps.verifyAdmin({ authorization: `Bearer ${token}` });
    if (!actor) throw refuse('Paste an admin key, an admin JWT or your Tollgate API key.');
    if (actor.type === 'admin_key') return { credential: { kind: 'admin_key', keyHash: hashKey(token) }, expiresAtMs: ttlEnd };
    const { exp } = decodeJwt(token);
    return { credential: { kind: 'jwt', actor: { id: actor.id, role: actor.role, userId: actor.userId, orgId: actor.orgId ?? null } }, expiresAtMs: Math.min(ttlEnd, exp! * 1000) };
  }

  return {
    ttlMs: deps.ttlMs,
    async signIn(token) {
      const nowMs = now();
      const { credential, expiresAtMs } = await credentialFor(token.trim(), nowMs);
      const session: ConsoleSession = { credential, csrfToken: randomBytes(24).toString('base64url'), expiresAtMs };
      const id = randomBytes(32).toString('base64url');
      await deps.store.put(id, session);
      const { actor, principal } = await actorOf(credential, nowMs);
      return { id, signedIn: { session, actor, principal } };
    },
    async resolve(headers) {
      const id = sessionIdFrom(headers, deps.hostOnlyCookie);
      if (!id) return undefined;
      const nowMs = now();
      const session = await deps.store.get(id, nowMs);
      if (!session) return undefined;
      const { actor, principal } = await actorOf(session.credential, nowMs);
      return { session, actor, principal };
    },
    async signOut(headers) {
      const id = sessionIdFrom(headers, deps.hostOnlyCookie);
      if (id) await deps.store.delete(id);
    },
  };
}
