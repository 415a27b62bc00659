// The gateway's own routes as one table: method, normalised path, who may call it, the endpoint
// family a key's scopes must include, the error dialect and the handler. The server looks a
// request up here; the admin API (mounted under /admin/) and allow-listed pass-through routes
// (src/proxy/passthrough-routes.ts) are consulted only when no row has the path.
import type { IncomingHttpHeaders } from 'node:http';
import type { DialectName } from '../providers/index.js';
import type { MediaEndpoint } from '../providers/media.js';
import type { Endpoint } from '../providers/types.js';
import type { EndpointFamily } from './families.js';

export interface MeteredRoute {
  readonly endpoint: Endpoint;
  readonly dialect: DialectName;
}

export type RouteHandler = 'metered' | 'media' | 'tokenCount' | 'anthropicTokenCount' | 'models' | 'usage' | 'usageHistory' | 'alertPreferences' | 'health' | 'ready' | 'metrics';

export interface RouteRow {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  // 'key': a Tollgate API key whose scopes include `family`; 'none': anyone (operational endpoints).
  readonly auth: 'key' | 'none';
  readonly family: EndpointFamily | null;
  // The error shape of the route; null means the caller's (anthropic-version header or not).
  readonly dialect: DialectName | null;
  readonly handler: RouteHandler;
  readonly metered?: MeteredRoute;
  // The media routes (src/server/media-endpoints.ts): metered by units, not text tokens.
  readonly media?: MediaEndpoint;
  // Served on server.opsPort when one is set.
  readonly ops?: boolean;
}

const metered = (path: string, endpoint: Endpoint, dialect: DialectName): RouteRow => ({
  method: 'POST',
  path,
  auth: 'key',
  family: endpoint,
  dialect,
  handler: 'metered',
  metered: { endpoint, dialect },
});

const media = (path: string, endpoint: MediaEndpoint, family: EndpointFamily): RouteRow => ({
  method: 'POST',
  path,
  auth: 'key',
  family,
  dialect: 'openai',
  handler: 'media',
  media: endpoint,
});

export const routeTable: readonly RouteRow[] = [
  metered('/v1/chat/completions', 'chat', 'openai'),
  metered('/v1/completions', 'completions', 'openai'),
  metered('/v1/embeddings', 'embeddings', 'openai'),
  metered('/v1/responses', 'responses', 'openai'),
  metered('/v1/messages', 'messages', 'anthropic'),
  media('/v1/moderations', 'moderations', 'moderations'),
  media('/v1/images/generations', 'image_generations', 'images'),
  media('/v1/images/edits', 'image_edits', 'images'),
  media('/v1/images/variations', 'image_variations', 'images'),
  media('/v1/audio/transcriptions', 'transcriptions', 'audio'),
  media('/v1/audio/translations', 'translations', 'audio'),
  media('/v1/audio/speech', 'speech', 'audio'),
  { method: 'POST', path: '/v1/token_count', auth: 'key', family: 'token_count', dialect: null, handler: 'tokenCount' },
  { method: 'POST', path: '/v1/messages/count_tokens', auth: 'key', family: 'token_count', dialect: 'anthropic', handler: 'anthropicTokenCount' },
  { method: 'GET', path: '/v1/models', auth: 'key', family: 'models', dialect: null, handler: 'models' },
  { method: 'GET', path: '/v1/usage', auth: 'key', family: 'usage', dialect: null, handler: 'usage' },
  { method: 'GET', path: '/v1/usage/history', auth: 'key', family: 'usage', dialect: null, handler: 'usageHistory' },
  // The caller's own budget alert thresholds and email (src/alerts/personal-thresholds.ts).
  { method: 'GET', path: '/v1/alerts/preferences', auth: 'key', family: 'usage', dialect: null, handler: 'alertPreferences' },
  { method: 'PUT', path: '/v1/alerts/preferences', auth: 'key', family: 'usage', dialect: null, handler: 'alertPreferences' },
  { method: 'GET', path: '/health', auth: 'none', family: null, dialect: null, handler: 'health', ops: true },
  { method: 'GET', path: '/ready', auth: 'none', family: null, dialect: null, handler: 'ready', ops: true },
  { method: 'GET', path: '/metrics', auth: 'none', family: null, dialect: null, handler: 'metrics', ops: true },
];

// Mounted prefixes: the admin API routes below this itself (src/admin/router.ts), and so does the
// web console (its page, versioned assets, sign-in and self-service reads: src/console/handler.ts).
export type MountName = 'admin' | 'console';
const mounts: ReadonlyArray<{ readonly name: MountName; readonly matches: (path: string) => boolean }> = [
  { name: 'admin', matches: (path) => path.startsWith('/admin/') },
  { name: 'console', matches: (path) => path === '/dashboard' || path.startsWith('/dashboard/') },
];

export const findMount = (path: string): MountName | undefined => mounts.find((m) => m.matches(path))?.name;

const byPath = new Map<string, Map<string, RouteRow>>();
for (const row of routeTable) {
  const methods = byPath.get(row.path) ?? new Map<string, RouteRow>();
  methods.set(row.method, row);
  byPath.set(row.path, methods);
}

export type RouteMatch = { kind: 'row'; row: RouteRow } | { kind: 'method_not_allowed'; allowed: readonly string[] } | { kind: 'none' };

export function findRoute(method: string, path: string): RouteMatch {
  const methods = byPath.get(path);
  if (!methods) return { kind: 'none' };
  const row = methods.get(method);
  return row ? { kind: 'row', row } : { kind: 'method_not_allowed', allowed: [...methods.keys()] };
}

// True for every path the gateway itself answers: a pass-through route may never shadow one.
export const isGatewayPath = (path: string): boolean => byPath.has(path) || findMount(path) !== undefined;

// Anthropic's SDK always sends anthropic-version; OpenAI's never does.
export const dialectOf = (headers: IncomingHttpHeaders): DialectName =>
  headers['anthropic-version'] === undefined ? 'openai' : 'anthropic';
