// The response cache (opt-in per org, team or key): exact-match answers of the metered text
// routes, kept in Redis (in process when embedded) under the caller's org, the client's endpoint,
// the model and the request body in canonical form (keys sorted), for `responseCache.ttlMs`. A
// hit is the bytes a client received the first time, streamed or not, sent again without an
// upstream call or a reservation; it is written to the ledger as a zero-cost row tagged
// `tollgate_cache: hit`. Keys carry the org's hash tag, so one org's answers can never be found
// under another's key. A store that fails is a miss: the cache never refuses a request.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { RedisClient } from '../redis/connect.js';
import type { UsageEvent } from '../usage/event.js';

export interface ResponseCacheConfig {
  readonly ttlMs: number;
  // Answers larger than this are not kept.
  readonly maxEntryBytes: number;
  // In process (embedded): at most this many answers and bytes, least recently used dropped first.
  readonly maxEntries: number;
  readonly maxMemoryBytes: number;
  // Who opted in: org, team or key ids ("*": every one of that scope).
  readonly scopes: ReadonlyArray<{ readonly scope: 'org' | 'team' | 'key'; readonly id: string }>;
}

export interface CachedAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

interface CacheStore {
  get(key: string): Promise<Buffer | null>;
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
}

export interface ResponseCache {
  // The cache key of a request, or undefined when the principal has not opted in.
  keyFor(principal: Principal, endpoint: string, model: string, body: unknown): string | undefined;
  get(key: string): Promise<CachedAnswer | undefined>;
  // Tees what the client is sent on `res`; the returned function gives the answer, or undefined
  // when it outgrew maxEntryBytes.
  capture(res: ServerResponse): () => CachedAnswer | undefined;
  put(key: string, answer: CachedAnswer): void;
  // Writes the ledger row of a hit: nothing reserved, nothing charged.
  recordHit(hit: { principal: Principal; provider: string; model: string; requestId: string; stream: boolean; latencyMs: number }): void;
}

// JSON with object keys sorted at every level: two bodies that differ only in key order are one request.
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// An entry is the answer's head as one JSON line, then its body bytes.
const encode = (answer: CachedAnswer): Buffer => Buffer.concat([Buffer.from(`${JSON.stringify({ status: answer.status, contentType: answer.contentType })}\n`), answer.body]);
function decode(value: Buffer): CachedAnswer | undefined {
  const newline = value.indexOf(10);
  if (newline === -1) return undefined;
  const head = JSON.parse(value.subarray(0, newline).toString('utf8')) as { status: number; contentType: string };
  return { status: head.status, contentType: head.contentType, body: value.subarray(newline + 1) };
}

function createMemoryStore(maxEntries: number, maxBytes: number, clock: () => number): CacheStore {
  // A Map iterates in insertion order: re-inserting on use makes the first entry the least recent.
  const entries = new Map<string, { value: Buffer; expiresAtMs: number }>();
  let bytes = 0;
  const drop = (key: string) => {
    bytes -= entries.get(key)?.value.length ?? 0;
    entries.delete(key);
  };
  return {
    async get(key) {
      const entry = entries.get(key);
      if (!entry) return null;
      drop(key);
      if (entry.expiresAtMs <= clock()) return null;
      entries.set(key, entry);
      bytes += entry.value.length;
      return entry.value;
    },
    async set(key, value, ttlMs) {
      drop(key);
      entries.set(key, { value, expiresAtMs: clock() + ttlMs });
      bytes += value.length;
      while (entries.size > maxEntries || bytes > maxBytes) drop(entries.keys().next().value!);
    },
  };
}

function createRedisStore(redis: RedisClient): CacheStore {
  return {
    get: (key) => redis.getBuffer(key),
    async set(key, value, ttlMs) {
      await redis.set(key, value, 'PX', ttlMs);
    },
  };
}

export interface ResponseCacheOptions {
  readonly config: ResponseCacheConfig;
  readonly redis: RedisClient | undefined;
  readonly keyPrefix: string;
  // Where a hit's ledger row goes (the usage pipeline's queue).
  readonly record: (event: UsageEvent) => void;
  readonly onError: (err: Error) => void;
  readonly clock?: () => number;
}

// Undefined when nobody opted in: the request path then pays one check of a missing object.
export function createResponseCache(options: ResponseCacheOptions): ResponseCache | undefined {
  const { config, keyPrefix, onError } = options;
  if (config.scopes.length === 0) return undefined;
  const clock = options.clock ?? Date.now;
  const store = options.redis ? createRedisStore(options.redis) : createMemoryStore(config.maxEntries, config.maxMemoryBytes, clock);
  const ids = (scope: 'org' | 'team' | 'key') => new Set(config.scopes.filter((s) => s.scope === scope).map((s) => s.id));
  const orgs = ids('org');
  const teams = ids('team');
  const keys = ids('key');
  const optedIn = (p: Principal): boolean =>
    orgs.has('*') || orgs.has(p.orgId) || keys.has('*') || keys.has(p.keyId) || (p.teamIds.length > 0 && (teams.has('*') || p.teamIds.some((t) => teams.has(t))));

  return {
    keyFor(principal, endpoint, model, body) {
      if (!optedIn(principal)) return undefined;
      const digest = createHash('sha256').update(`${endpoint}\0${model}\0${canonicalJson(body)}`).digest('hex');
      return `${keyPrefix}{org:${principal.orgId}}:rc:${digest}`;
    },
    async get(key) {
      try {
        const value = await store.get(key);
        return value ? decode(value) : undefined;
      } catch (err) {
        onError(err as Error);
        return undefined;
      }
    },
    capture(res) {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let over = false;
      const keep = (chunk: unknown) => {
        if (over || chunk === undefined || chunk === null || typeof chunk === 'function') return;
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
        bytes += buf.length;
        if (bytes > config.maxEntryBytes) {
          over = true;
          chunks.length = 0;
          return;
        }
        chunks.push(buf);
      };
      let contentType = 'application/json';
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
      res.writeHead = ((status: number, ...rest: unknown[]) => {
        const headers = rest.find((r) => r !== null && typeof r === 'object') as Record<string, unknown> | undefined;
        const named = headers?.['content-type'];
        if (typeof named === 'string') contentType = named;
        return writeHead(status, ...rest);
      }) as ServerResponse['writeHead'];
      const write = res.write.bind(res) as (...args: unknown[]) => boolean;
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.write = ((chunk: unknown, ...rest: unknown[]) => {
        keep(chunk);
        return write(chunk, ...rest);
      }) as ServerResponse['write'];
      res.end = ((chunk?: unknown, ...rest: unknown[]) => {
        keep(chunk);
        return end(chunk, ...rest);
      }) as ServerResponse['end'];
      return () => {
        if (over) return undefined;
        return { status: res.statusCode, contentType, body: Buffer.concat(chunks) };
      };
    },
    put(key, answer) {
      store.set(key, encode(answer), config.ttlMs).catch((err: Error) => onError(err));
    },
    recordHit({ principal, provider, model, requestId, stream, latencyMs }) {
      options.record({
        requestId,
        timeMs: clock(),
        orgId: principal.orgId,
        teamId: principal.teamIds[0] ?? null,
        userId: principal.userId,
        keyId: principal.keyId,
        provider,
        model,
        promptTokens: 0,
        cachedTokens: 0,
        completionTokens: 0,
        reasoningTokens: 0,
        costMicros: 0,
        status: 200,
        errorCode: null,
        stream,
        latencyMs,
        ttfbMs: latencyMs,
        estimated: false,
        // Nothing was reserved or charged: budget rebuilds from the ledger skip it as live charging did.
        unmetered: true,
        sessionId: null,
        tags: { tollgate_cache: 'hit' },
      });
    },
  };
}

// A hit goes out whole, as the first client received it, with the gateway's own headers.
export function sendCached(res: ServerResponse, answer: CachedAnswer, headers: Readonly<Record<string, string>>): void {
  res.writeHead(answer.status, { ...headers, 'content-type': answer.contentType, 'content-length': String(answer.body.length), 'x-tollgate-cache': 'hit' });
  res.end(answer.body);
}
