// Addressing the Anthropic Messages API. The client's anthropic-version and beta headers are
// forwarded by the proxy; the provider's own credential replaces the client's Tollgate key.
import type { ProviderConfig } from '../../config/schema.js';
import { basePath, type JsonObject, type PreparedBody, type UpstreamTarget, withQuery } from '../provider.js';
import type { Endpoint } from '../types.js';

export function target(config: ProviderConfig, _endpoint: Endpoint, _upstreamModel: string): UpstreamTarget {
  return { path: withQuery(rawPath(config, '/v1/messages'), config.query), headers: credentials(config) };
}

export function credentials(config: ProviderConfig): Record<string, string> {
  const headers: Record<string, string> = { 'anthropic-version': config.anthropicVersion, ...config.headers };
  if (config.apiKey) {
    const header = config.authHeader ?? 'x-api-key';
    headers[header] = config.authScheme ? `${config.authScheme} ${config.apiKey}` : config.apiKey;
  }
  return headers;
}

// Anthropic base URLs stop before the version; the client's path is appended as it is.
export const rawPath = (config: ProviderConfig, clientPath: string): string => basePath(config) + clientPath;

export function prepareBody(_endpoint: Endpoint, body: JsonObject, upstreamModel: string, clientModel: string): PreparedBody {
  return { body: upstreamModel === clientModel ? undefined : { ...body, model: upstreamModel }, hideUsageEvent: false };
}

export function maxOutputTokens(_endpoint: Endpoint, body: JsonObject): number | undefined {
  const value = body.max_tokens;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

export const withMaxOutputTokens = (_endpoint: Endpoint, body: JsonObject, tokens: number): JsonObject => ({ ...body, max_tokens: tokens });
