// The token-count endpoints, as pure handler logic the server mounts: POST /v1/token_count takes a
// chat completions, Responses or Anthropic Messages body and answers with the gateway's count;
// POST /v1/messages/count_tokens answers in Anthropic's shape. Neither calls upstream nor charges.
import { z } from 'zod';
import type { Catalog, CatalogModel, Encoding } from '../config/catalog.js';
import { GatewayError } from '../errors/catalogue.js';
import { asText } from '../providers/provider.js';
import type { Endpoint } from '../providers/types.js';
import { parseBody } from './parse-body.js';
import type { PromptCounter } from './prompt-counter.js';

export interface TollgateTokenCount {
  readonly model: string;
  readonly encoding: Encoding;
  readonly prompt_tokens: number;
  readonly estimated: boolean;
}

export interface AnthropicTokenCount {
  readonly input_tokens: number;
}

const endpoints = ['chat', 'responses', 'messages', 'completions', 'embeddings'] as const satisfies readonly Endpoint[];

const requestSchema = z.looseObject({
  model: z.string().min(1),
  // Optional: names the body's shape where it is ambiguous (an embeddings `input` looks like a Responses one).
  endpoint: z.enum(endpoints).optional(),
});

// Content blocks only Anthropic's Messages API has.
const anthropicBlockTypes = new Set(['tool_use', 'tool_result', 'image', 'document', 'thinking', 'redacted_thinking']);

const blockType = (block: unknown): string => (typeof block === 'object' && block !== null && 'type' in block ? asText(block.type) : '');

function hasAnthropicBlocks(messages: unknown): boolean {
  return (
    Array.isArray(messages) &&
    messages.some((message: { content?: unknown } | null) => Array.isArray(message?.content) && message.content.some((block) => anthropicBlockTypes.has(blockType(block))))
  );
}

// A body with `messages` is an Anthropic one if it says so (top-level `system`, Anthropic-only
// blocks) or if it targets a model counted by estimate; otherwise it is a chat completion.
function inferEndpoint(body: Record<string, unknown>, model: CatalogModel): Endpoint {
  if (body.messages !== undefined) {
    return body.system !== undefined || hasAnthropicBlocks(body.messages) || model.encoding === 'estimate' ? 'messages' : 'chat';
  }
  if (body.input !== undefined) return 'responses';
  if (body.prompt !== undefined) return 'completions';
  throw new GatewayError('invalid_request', 'The body needs `messages`, `input` or `prompt` to count.', 'messages');
}

export function tokenCountResponse(kind: 'tollgate', body: unknown, catalog: Catalog, counter: PromptCounter): Promise<TollgateTokenCount>;
export function tokenCountResponse(kind: 'anthropic', body: unknown, catalog: Catalog, counter: PromptCounter): Promise<AnthropicTokenCount>;
export async function tokenCountResponse(
  kind: 'tollgate' | 'anthropic',
  body: unknown,
  catalog: Catalog,
  counter: PromptCounter,
): Promise<TollgateTokenCount | AnthropicTokenCount> {
  const request = parseBody(requestSchema, body);
  const model = catalog.resolve(request.model);
  if (!model) throw new GatewayError('model_not_found', `The model "${request.model}" does not exist in the catalog.`, 'model');
  const endpoint = kind === 'anthropic' ? 'messages' : (request.endpoint ?? inferEndpoint(request, model));
  const count = await counter.countPrompt(endpoint, body, model);
  if (kind === 'anthropic') return { input_tokens: count.promptTokens };
  return { model: model.name, encoding: count.encoding, prompt_tokens: count.promptTokens, estimated: count.estimated };
}
