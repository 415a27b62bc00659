// What the gateway needs to trust in a metered request body. Everything else passes through to
// the provider unchanged (loose objects), which validates its own parameters.
import { z } from 'zod';
import { GatewayError } from '../errors/catalogue.js';
import { parseJsonBody } from '../http/parse-json.js';
import type { JsonObject } from '../providers/provider.js';

const tokens = z.number().int().nonnegative();

const requestSchema = z.looseObject({
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
const deploymentRequestSchema = requestSchema.extend({ model: z.unknown().optional() });

export const parseRequestBody = (raw: Buffer): JsonObject => parseWith(requestSchema, raw);
export const parseDeploymentRequestBody = (raw: Buffer): JsonObject => parseWith(deploymentRequestSchema, raw);

function parseWith(schema: typeof requestSchema | typeof deploymentRequestSchema, raw: Buffer): JsonObject {
  const parsed = schema.safeParse(parseJsonBody(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.join('.') || null;
    throw new GatewayError('invalid_request', param ? `${param}: ${issue.message}` : `The request body must be a JSON object: ${issue.message}`, param);
  }
  return parsed.data;
}
