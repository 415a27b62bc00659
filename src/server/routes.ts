// The gateway's own routes as one table: method, normalised path, who may call it, the endpoint
// family a key's scopes must include, the error dialect and the handler. The server looks a
// request up here; the admin API (mounted under /admin/) and allow-listed pass-through routes
// (src/proxy/passthrough-routes.ts) are consulted only when no row has the path.
import type { IncomingHttpHeaders } from 'node:http';
import { bedrockModelId, parseConverse } from '../providers/bedrock/request.js';
import { parseGenerateContent } from '../providers/gemini/request.js';
import type { DialectName } from '../providers/index.js';
import type { MediaEndpoint } from '../providers/media.js';
import type { JsonObject } from '../providers/provider.js';
import type { Endpoint } from '../providers/types.js';
import type { EndpointFamily } from './families.js';
import { parseDeploymentRequestBody } from './request-schema.js';

export interface MeteredRoute {
  readonly endpoint: Endpoint;
  readonly dialect: DialectName;
  // Validates the body (absent: an OpenAI-style body with its `model`).
  readonly parseBody?: (raw: Buffer) => JsonObject;
  // The model is the {model} path segment, not the body's.
  readonly modelInPath?: true;
}

export type RouteHandler = 'metered' | 'media' | 'upgradeRequired' | 'tokenCount' | 'anthropicTokenCount' | 'geminiTokenCount' | 'models' | 'usage' | 'usageHistory' | 'alertPreferences' | 'health' | 'ready' | 'metrics';

export interface RouteRow {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  // 'key': a Tollgate API key whose scopes include `family`; 'none': anyone (operational endpoints).
  readonly auth: 'key' | 'none';
  // The key may also come as the `key` query parameter (Google's clients); it is never forwarded.
  readonly keyInQuery?: true;
  readonly family: EndpointFamily | null;
  // The error shape of the route; null means the caller's (anthropic-version header or not).
  readonly dialect: DialectName | null;
  readonly handler: RouteHandler;
  readonly metered?: MeteredRoute;
  // The media routes (src/server/media-endpoints.ts): metered by units, not text tokens.
  readonly media?: MediaEndpoint;
  // Served on server.opsPort when one is set.
  readonly ops?: boolean;
  // The model a {model} segment names, or undefined when the segment is not one; absent: the
  // strict catalog-name pattern (pathModelPattern).
  readonly modelSegment?: (segment: string) => string | undefined;
  // A websocket route: its upgrade is served by this session handler (src/server/realtime-session.ts);
  // a plain request gets `handler` (upgradeRequired).
  readonly websocket?: 'realtime';
}

const metered = (path: string, endpoint: Extract<Endpoint, EndpointFamily>, dialect: DialectName): RouteRow => ({
  method: 'POST',
  path,
  auth: 'key',
  family: endpoint,
  dialect,
  handler: 'metered',
  metered: { endpoint, dialect },
});

// Gemini's native API: the model is a path segment ({model}, see pathModel), the method follows a colon.
const gemini = (method: 'generateContent' | 'streamGenerateContent'): RouteRow => ({
  method: 'POST',
  path: `/v1beta/models/{model}:${method}`,
  auth: 'key',
  keyInQuery: true,
  family: 'generate_content',
  dialect: 'gemini',
  handler: 'metered',
  metered: { endpoint: method, dialect: 'gemini', parseBody: parseGenerateContent, modelInPath: true },
});

// Bedrock's runtime API: the model ID is a path segment, the operation follows it.
const bedrock = (operation: 'converse' | 'converse-stream', endpoint: 'converse' | 'converseStream'): RouteRow => ({
  method: 'POST',
  path: `/model/{model}/${operation}`,
  auth: 'key',
  family: 'converse',
  dialect: 'bedrock',
  handler: 'metered',
  metered: { endpoint, dialect: 'bedrock', parseBody: parseConverse, modelInPath: true },
  modelSegment: bedrockModelId,
});

// Azure OpenAI's data-plane paths, for clients built for Azure (openai's AzureOpenAI): the
// deployment is the model, resolved through the catalog (a deployment named like a catalog model,
// or an alias), and the key may come as `api-key`. The client's api-version is not forwarded.
const deploymentName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const azure = (path: string, endpoint: 'chat' | 'completions' | 'embeddings'): RouteRow => ({
  method: 'POST',
  path: `/openai/deployments/{model}${path}`,
  auth: 'key',
  family: endpoint,
  dialect: 'openai',
  handler: 'metered',
  metered: { endpoint, dialect: 'openai', parseBody: parseDeploymentRequestBody, modelInPath: true },
  modelSegment: (segment) => (deploymentName.test(segment) ? segment : undefined),
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
  { method: 'GET', path: '/v1/realtime', auth: 'key', family: 'realtime', dialect: 'openai', handler: 'upgradeRequired', websocket: 'realtime' },
  gemini('generateContent'),
  gemini('streamGenerateContent'),
  bedrock('converse', 'converse'),
  bedrock('converse-stream', 'converseStream'),
  azure('/chat/completions', 'chat'),
  azure('/completions', 'completions'),
  azure('/embeddings', 'embeddings'),
  { method: 'POST', path: '/v1beta/models/{model}:countTokens', auth: 'key', keyInQuery: true, family: 'token_count', dialect: 'gemini', handler: 'geminiTokenCount' },
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

// A model named in a path: a catalog name, lowercase letters, digits, dots, dashes and underscores,
// starting with a letter or digit. Nothing a normaliser could read differently (no %, no "/", no
// dot segment) and no ":" (which starts the method) can be part of it.
const pathModelPattern = /^[a-z0-9][a-z0-9._-]{0,127}$/;

// Rows with a {model} segment, split around it once.
const templated = routeTable
  .filter((row) => row.path.includes('{model}'))
  .map((row) => ({
    template: row.path,
    prefix: row.path.slice(0, row.path.indexOf('{model}')),
    suffix: row.path.slice(row.path.indexOf('{model}') + '{model}'.length),
    model: row.modelSegment ?? ((segment: string) => (pathModelPattern.test(segment) ? segment : undefined)),
  }));

// The model a path names in a templated row's {model} segment, or undefined when it names none or
// one outside the pattern.
export function pathModel(template: string, path: string): string | undefined {
  const t = templated.find((r) => r.template === template);
  if (!t || path.length <= t.prefix.length + t.suffix.length || !path.startsWith(t.prefix) || !path.endsWith(t.suffix)) return undefined;
  return t.model(path.slice(t.prefix.length, path.length - t.suffix.length));
}

// The row path a request path is looked up under: itself, or the template whose {model} it fills.
const routeKey = (path: string): string => (byPath.has(path) ? path : (templated.find((t) => pathModel(t.template, path) !== undefined)?.template ?? path));

export type RouteMatch = { kind: 'row'; row: RouteRow } | { kind: 'method_not_allowed'; allowed: readonly string[] } | { kind: 'none' };

export function findRoute(method: string, path: string): RouteMatch {
  const methods = byPath.get(routeKey(path));
  if (!methods) return { kind: 'none' };
  const row = methods.get(method);
  return row ? { kind: 'row', row } : { kind: 'method_not_allowed', allowed: [...methods.keys()] };
}

// True for every path the gateway itself answers: a pass-through route may never shadow one.
export const isGatewayPath = (path: string): boolean => byPath.has(routeKey(path)) || findMount(path) !== undefined;

// Anthropic's SDK always sends anthropic-version; OpenAI's never does.
export const dialectOf = (headers: IncomingHttpHeaders): DialectName =>
  headers['anthropic-version'] === undefined ? 'openai' : 'anthropic';
