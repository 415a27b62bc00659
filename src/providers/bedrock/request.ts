// Addressing Bedrock's runtime API (bedrock-runtime.{region}.amazonaws.com): the model ID is a path
// segment, the operation follows it, and the request is authenticated by its SigV4 signature
// (sign.ts), not by a header credentials() could give. The client's Tollgate key never goes up:
// the upstream request is built from the model and the body alone, and signed anew.
import { z } from 'zod';
import type { ProviderConfig } from '../../config/schema.js';
import { parseJsonBody } from '../../http/parse-json.js';
import { parseBody } from '../../tokens/parse-body.js';
import { asObject, basePath, type JsonObject, type PreparedBody, type UpstreamTarget } from '../provider.js';
import type { Endpoint } from '../types.js';

// bedrock-runtime.us-east-1.amazonaws.com (and -fips, and .amazonaws.com.cn) names its region.
const awsHost = /^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

// The region requests are signed for: the configured one, else the one an AWS endpoint's host names.
export function bedrockRegion(config: { readonly region?: string | undefined; readonly baseUrl: string }): string | undefined {
  return config.region ?? awsHost.exec(new URL(config.baseUrl).hostname)?.[1];
}

// Bedrock model IDs hold ":" (anthropic.claude-3-5-sonnet-20241022-v2:0), which the AWS SDK sends
// escaped as %3A; that is the one escape read. Otherwise as strict as Gemini's {model}: lowercase
// letters, digits, ".", "-" and "_", never "/" or a dot segment. ARNs are not accepted.
const modelIdPattern = /^[a-z0-9][a-z0-9._:-]{0,127}$/;
export function bedrockModelId(segment: string): string | undefined {
  const id = segment.replace(/%3a/gi, ':');
  return modelIdPattern.test(id) ? id : undefined;
}

const operations: Partial<Record<Endpoint, string>> = { converse: 'converse', converseStream: 'converse-stream' };

export function target(config: ProviderConfig, endpoint: Endpoint, upstreamModel: string): UpstreamTarget {
  // The ID is escaped as the AWS SDK escapes it (":" as %3A), so the signed path is the sent one.
  return { path: `${basePath(config)}/model/${encodeURIComponent(upstreamModel)}/${operations[endpoint]!}`, headers: credentials(config) };
}

// Configured extra headers only: the credential is the signature.
export const credentials = (config: ProviderConfig): Record<string, string> => ({ ...config.headers });

export const rawPath = (config: ProviderConfig, clientPath: string): string => basePath(config) + clientPath;

// The model is in the path, so the body goes up as the client sent it unless the cap changed.
export const prepareBody = (): PreparedBody => ({ body: undefined, hideUsageEvent: false });

const count = z.number().int().positive();
// additionalModelRequestFields reaches the model's native API unread by Bedrock: an output cap
// written there (Anthropic's max_tokens, Llama's max_gen_len...) would escape the reservation.
const nativeCapFields = ['max_tokens', 'maxTokens', 'max_tokens_to_sample', 'max_gen_len', 'max_new_tokens', 'maxTokenCount'] as const;
const additionalFields = z.looseObject(Object.fromEntries(nativeCapFields.map((f) => [f, z.never({ error: 'set the output cap as inferenceConfig.maxTokens' }).optional()])));
const converseSchema = z.looseObject({
  messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content: z.array(z.looseObject({})) })).min(1, 'messages must hold at least one message'),
  system: z.array(z.looseObject({})).optional(),
  inferenceConfig: z.looseObject({ maxTokens: count.optional() }).optional(),
  additionalModelRequestFields: additionalFields.optional(),
});

// What the gateway must trust in a Converse body before reserving for it.
export function parseConverse(raw: Buffer): JsonObject {
  return parseBody(converseSchema, parseJsonBody(raw)) as JsonObject;
}

const inference = (body: JsonObject): JsonObject | undefined => asObject(body.inferenceConfig);

export function maxOutputTokens(_endpoint: Endpoint, body: JsonObject): number | undefined {
  const value = inference(body)?.maxTokens;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

export const withMaxOutputTokens = (_endpoint: Endpoint, body: JsonObject, tokens: number): JsonObject => ({
  ...body,
  inferenceConfig: { ...inference(body), maxTokens: tokens },
});
