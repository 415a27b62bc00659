// What the gateway needs to trust in a metered request body. Everything else passes through to
// the provider unchanged (loose objects), which validates its own parameters.
//
// Every body is checked by hand first (acceptsFast): a few typeof tests instead of zod's generic
// walk, which cost the request path more than parsing the JSON did (bench/cpu.ts). The hand check
// accepts only what the schema accepts; anything else, wrong or merely unusual, goes through zod,
// so a bad body gets zod's message and path exactly as before.
import { z } from 'zod';
import { GatewayError } from '../errors/catalogue.js';
import { parseJsonBody } from '../http/parse-json.js';
import type { JsonObject } from '../providers/provider.js';

const tokens = z.number().int().nonnegative();

export const requestSchema = z.looseObject({
  model: z.string().min(1, 'model must be a non-empty string'),
  stream: z.boolean().optional(),
  max_tokens: tokens.nullish(),
  max_completion_tokens: tokens.nullish(),
  max_output_tokens: tokens.nullish(),
  // Each choice may use the whole output cap, so the reservation multiplies by these.
  n: z.number().int().positive().nullish(),
  best_of: z.number().int().positive().nullish(),
  background: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
});

// Azure OpenAI's deployment routes name the model in the path; a `model` in the body is ignored there.
export const deploymentRequestSchema = requestSchema.extend({ model: z.unknown().optional() });

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const isAbsent = (v: unknown): boolean => v === undefined || v === null;
// Safe integers only: the schema's int() refuses the rest.
const isTokens = (v: unknown, min: number): boolean => isAbsent(v) || (Number.isSafeInteger(v) && (v as number) >= min);
const isFlag = (v: unknown): boolean => isAbsent(v) || typeof v === 'boolean';

// True only for bodies the schema would accept unchanged (it has no defaults or transforms).
export function acceptsFast(body: unknown, modelInBody: boolean): body is JsonObject {
  if (!isObject(body)) return false;
  const { model, stream, stream_options: streamOptions } = body;
  return (
    (!modelInBody || (typeof model === 'string' && model.length > 0)) &&
    (stream === undefined || typeof stream === 'boolean') &&
    isTokens(body.max_tokens, 0) &&
    isTokens(body.max_completion_tokens, 0) &&
    isTokens(body.max_output_tokens, 0) &&
    isTokens(body.n, 1) &&
    isTokens(body.best_of, 1) &&
    isFlag(body.background) &&
    (isAbsent(streamOptions) || (isObject(streamOptions) && (streamOptions.include_usage === undefined || typeof streamOptions.include_usage === 'boolean')))
  );
}

export const parseRequestBody = (raw: Buffer): JsonObject => parseWith(requestSchema, true, raw);
export const parseDeploymentRequestBody = (raw: Buffer): JsonObject => parseWith(deploymentRequestSchema, false, raw);

function parseWith(schema: typeof requestSchema | typeof deploymentRequestSchema, modelInBody: boolean, raw: Buffer): JsonObject {
  const body = parseJsonBody(raw);
  if (acceptsFast(body, modelInBody)) return body;
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.join('.') || null;
    throw new GatewayError('invalid_request', param ? `${param}: ${issue.message}` : `The request body must be a JSON object: ${issue.message}`, param);
  }
  return parsed.data;
}
