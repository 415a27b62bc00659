// Addressing an OpenAI or OpenAI-compatible upstream, and the body changes the gateway makes:
// model alias -> upstream name, and a usage chunk requested on streams.
import type { ProviderConfig } from '../../config/schema.js';
import { asObject, basePath, type JsonObject, type PreparedBody, type UpstreamTarget, withQuery } from '../provider.js';
import type { BedrockEndpoint, Endpoint, GeminiEndpoint } from '../types.js';

const paths: Record<Exclude<Endpoint, 'messages' | GeminiEndpoint | BedrockEndpoint>, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  responses: '/responses',
};

export function target(config: ProviderConfig, endpoint: Endpoint, upstreamModel: string): UpstreamTarget {
  const route = paths[endpoint as keyof typeof paths];
  const base = basePath(config);
  const path = config.pathTemplate ? config.pathTemplate.replaceAll('{deployment}', encodeURIComponent(upstreamModel)).replaceAll('{path}', route) : route;
  return { path: withQuery(base + path, config.query), headers: credentials(config) };
}

export function credentials(config: ProviderConfig): Record<string, string> {
  const headers: Record<string, string> = { ...config.headers };
  if (config.apiKey) {
    const header = config.authHeader ?? 'authorization';
    const scheme = config.authScheme ?? (header === 'authorization' ? 'Bearer' : '');
    headers[header] = scheme ? `${scheme} ${config.apiKey}` : config.apiKey;
  }
  return headers;
}

// OpenAI base URLs already end in the API version (`…/v1`), so the client's `/v1` is dropped.
export function rawPath(config: ProviderConfig, clientPath: string): string {
  return basePath(config) + clientPath.replace(/^\/v1(?=\/|$)/, '');
}

const streamsUsage = (endpoint: Endpoint): boolean => endpoint === 'chat' || endpoint === 'completions';

export function prepareBody(endpoint: Endpoint, body: JsonObject, upstreamModel: string, clientModel: string): PreparedBody {
  const renamed = upstreamModel !== clientModel;
  const wantsUsage = body.stream === true && streamsUsage(endpoint) && asObject(body.stream_options)?.include_usage !== true;
  if (!renamed && !wantsUsage) return { body: undefined, hideUsageEvent: false };
  const next: JsonObject = { ...body, model: upstreamModel };
  if (wantsUsage) next.stream_options = { ...asObject(body.stream_options), include_usage: true };
  return { body: next, hideUsageEvent: wantsUsage };
}

// The endpoint's own cap field, set when the gateway caps a body that names none.
const ownField: Partial<Record<Endpoint, string>> = { chat: 'max_completion_tokens', completions: 'max_tokens', responses: 'max_output_tokens' };
// Compatible servers honour any of these whatever the endpoint, and a body may carry several
// (max_tokens beside max_completion_tokens): all are reserved for and capped together.
const capFields = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

// The legacy completions API defaults to 16 output tokens when max_tokens is absent.
const completionsDefault = 16;

export function maxOutputTokens(endpoint: Endpoint, body: JsonObject): number | undefined {
  if (endpoint === 'embeddings') return 0;
  const caps = capFields.map((field) => body[field]).filter(isCount);
  if (caps.length > 0) return Math.max(...caps);
  return endpoint === 'completions' ? completionsDefault : undefined;
}

export function withMaxOutputTokens(endpoint: Endpoint, body: JsonObject, tokens: number): JsonObject {
  const field = ownField[endpoint];
  if (!field) return body;
  const present = capFields.filter((name) => isCount(body[name]));
  const next: JsonObject = { ...body };
  for (const name of present.length > 0 ? present : [field]) next[name] = tokens;
  return next;
}

// best_of generates that many completions server-side and returns n of them: all are billed.
export function outputChoices(endpoint: Endpoint, body: JsonObject): number {
  if (endpoint !== 'chat' && endpoint !== 'completions') return 1;
  const counts = [body.n, endpoint === 'completions' ? body.best_of : undefined].filter((v): v is number => isCount(v) && v > 0);
  return Math.max(1, ...counts);
}

export const defersOutput = (endpoint: Endpoint, body: JsonObject): boolean => endpoint === 'responses' && body.background === true;
