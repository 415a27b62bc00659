// Where console sessions live: Redis when the deployment has it (every replica sees a sign-in and
// a sign-out at once), else this process. Both expire each session at its own deadline and hold
// entries under the SHA-256 of the cookie value, so a store dump holds no usable cookie. The
// in-process store is bounded: past maxEntries the oldest session is dropped.
import { hash } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';

// What a session stands for; the credential itself is never kept, only what re-checks it.
export type SessionCredential =
  // Re-checked on every request, so revoking the key or deactivating its user ends the session.
  | { readonly kind: 'admin_key'; readonly keyHash: string }
  // A JWT cannot be re-checked without the token: the session ends when the token would have.
  | { readonly kind: 'jwt'; readonly actor: { readonly id: string; readonly role: string; readonly userId: string | null; readonly orgId: string | null } }
  // A Tollgate key for the self-service view, re-checked through the principal cache.
  | { readonly kind: 'api_key'; readonly keyHash: string };

export interface ConsoleSession {
  readonly credential: SessionCredential;
  // The synchroniser token every console call echoes in x-csrf-token.
  readonly csrfToken: string;
  readonly expiresAtMs: number;
}

export interface SessionStore {
  put(id: string, session: ConsoleSession): Promise<void>;
  get(id: string, nowMs: number): Promise<ConsoleSession | undefined>;
  delete(id: string): Promise<void>;
}

const storedId = (id: string) => hash('sha256', id, 'hex');

export function createMemorySessionStore(maxEntries: number): SessionStore {
  const sessions = new Map<string, ConsoleSession>();
  return {
    async put(id, session) {
      const key = storedId(id);
      sessions.delete(key);
      while (sessions.size >= maxEntries) sessions.delete(sessions.keys().next().value!);
      sessions.set(key, session);
    },
    async get(id, nowMs) {
      const key = storedId(id);
      const session = sessions.get(key);
      if (session && session.expiresAtMs <= nowMs) {
        sessions.delete(key);
        return undefined;
      }
      return session;
    },
    async delete(id) {
      sessions.delete(storedId(id));
    },
  };
}

export function createRedisSessionStore(redis: RedisClient, keyPrefix: string): SessionStore {
  const keyOf = (id: string) => `${keyPrefix}console:session:${storedId(id)}`;
  return {
    async put(id, session) {
      await redis.set(keyOf(id), JSON.stringify(session), 'PX', Math.max(1, session.expiresAtMs - Date.now()));
    },
    async get(id, nowMs) {
      const text = await redis.get(keyOf(id));
      if (!text) return undefined;
      const session = JSON.parse(text) as ConsoleSession;
      return session.expiresAtMs > nowMs ? session : undefined;
    },
    async delete(id) {
      await redis.del(keyOf(id));
    },
  };
}
