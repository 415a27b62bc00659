// Addressing the Gemini API (generativelanguage.googleapis.com): the model and the method are in
// the path, `alt=sse` picks Server-Sent Events over the default streamed JSON array, and the
// credential is the x-goog-api-key header. The client's Tollgate key (header or `key` query
// parameter) is never forwarded: the upstream path is rebuilt from the model and `alt` alone.
import { z } from 'zod';
import type { ProviderConfig } from '../../config/schema.js';
import { parseJsonBody } from '../../http/parse-json.js';
import { parseBody } from '../../tokens/parse-body.js';
import { asObject, basePath, type JsonObject, type PreparedBody, type UpstreamTarget, withQuery } from '../provider.js';
import type { Endpoint } from '../types.js';

export function target(config: ProviderConfig, endpoint: Endpoint, upstreamModel: string, clientSearch = ''): UpstreamTarget {
  const sse = endpoint === 'streamGenerateContent' && new URLSearchParams(clientSearch).get('alt') === 'sse';
  const path = rawPath(config, `/v1beta/models/${encodeURIComponent(upstreamModel)}:${endpoint}`);
  return { path: withQuery(path, sse ? { ...config.query, alt: 'sse' } : config.query), headers: credentials(config) };
}

export function credentials(config: ProviderConfig): Record<string, string> {
  const headers: Record<string, string> = { ...config.headers };
  if (config.apiKey) {
    const header = config.authHeader ?? 'x-goog-api-key';
    headers[header] = config.authScheme ? `${config.authScheme} ${config.apiKey}` : config.apiKey;
  }
  return headers;
}

// Gemini base URLs stop before the version (/v1beta); the client's path is appended as it is.
export const rawPath = (config: ProviderConfig, clientPath: string): string => basePath(config) + clientPath;

// The model is in the path, so the body goes up as the client sent it unless the cap changed.
export const prepareBody = (): PreparedBody => ({ body: undefined, hideUsageEvent: false });

const count = z.number().int().nonnegative();
// Google parses request JSON as protobuf JSON, which also accepts snake_case field names and
// integers written as strings: a cap or candidate count spelt either way would reach the model
// unseen by the reservation, so those spellings are refused and the camelCase ones must be numbers.
const otherSpelling = (field: string) => z.never({ error: `write ${field} in camelCase as a number` }).optional();
const generationConfig = z.looseObject({
  maxOutputTokens: count.optional(),
  candidateCount: count.positive().optional(),
  max_output_tokens: otherSpelling('maxOutputTokens'),
  candidate_count: otherSpelling('candidateCount'),
});
const generateContentSchema = z.looseObject({
  contents: z.array(z.looseObject({ parts: z.array(z.looseObject({})) })).min(1, 'contents must hold at least one turn'),
  generationConfig: generationConfig.optional(),
  generation_config: otherSpelling('generationConfig'),
});

// What the gateway must trust in a generateContent body before reserving for it.
export function parseGenerateContent(raw: Buffer): JsonObject {
  return parseBody(generateContentSchema, parseJsonBody(raw)) as JsonObject;
}

const config = (body: JsonObject): JsonObject | undefined => asObject(body.generationConfig);

export function maxOutputTokens(_endpoint: Endpoint, body: JsonObject): number | undefined {
  const value = config(body)?.maxOutputTokens;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

export const withMaxOutputTokens = (_endpoint: Endpoint, body: JsonObject, tokens: number): JsonObject => ({
  ...body,
  generationConfig: { ...config(body), maxOutputTokens: tokens },
});

// Each candidate may use the whole output cap.
export function outputChoices(_endpoint: Endpoint, body: JsonObject): number {
  const value = config(body)?.candidateCount;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : 1;
}
