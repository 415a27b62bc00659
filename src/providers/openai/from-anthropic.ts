// An Anthropic Messages request as an OpenAI chat completions request, for an Anthropic client
// asking for an OpenAI model. Translated: system (string or text blocks), user text and images
// (base64 as data URLs, URL sources as URLs), assistant text and tool_use blocks (tool calls),
// tool_result blocks (tool messages), custom tools and tool_choice (auto, any, tool, none,
// disable_parallel_tool_use), max_tokens, stop_sequences, temperature, top_p, metadata.user_id and
// streaming. Refused (400): documents, server tools. Dropped: thinking blocks and settings (OpenAI
// reasoning models think without being asked; their reasoning is not returned by chat completions).
import { z } from 'zod';
import { GatewayError } from '../../errors/catalogue.js';
import { parseBody } from '../../tokens/parse-body.js';
import type { JsonObject, TranslationContext } from '../provider.js';

const block = z.looseObject({ type: z.string() });
const content = z.union([z.string(), z.array(block)]);
const messagesRequestSchema = z.looseObject({
  system: content.optional(),
  messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content })).min(1),
  max_tokens: z.number().int().positive(),
  tools: z.array(z.looseObject({ name: z.string(), description: z.string().optional(), input_schema: z.record(z.string(), z.unknown()).optional(), type: z.literal('custom', 'only custom tools can be translated to another provider').optional() })).optional(),
  tool_choice: z.looseObject({ type: z.enum(['auto', 'any', 'tool', 'none']), name: z.string().optional(), disable_parallel_tool_use: z.boolean().optional() }).optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  stream: z.boolean().optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
});

type Block = z.output<typeof block> & Record<string, unknown>;
const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const blocks = (value: z.output<typeof content>): Block[] => (typeof value === 'string' ? [{ type: 'text', text: value }] : value);
const textOf = (value: unknown): string => (typeof value === 'string' ? value : Array.isArray(value) ? value.map((b: Block) => (b?.type === 'text' ? str(b.text) : '')).join('') : '');

function imagePart(b: Block): JsonObject {
  const source = (b.source ?? {}) as Record<string, unknown>;
  const url = source.type === 'base64' ? `data:${str(source.media_type)};base64,${str(source.data)}` : source.type === 'url' ? str(source.url) : '';
  if (!url) throw new GatewayError('invalid_request', 'An image must have a base64 or url source.', 'messages');
  return { type: 'image_url', image_url: { url } };
}

function toolChoice(choice: NonNullable<z.output<typeof messagesRequestSchema>['tool_choice']>): unknown {
  if (choice.type === 'any') return 'required';
  if (choice.type === 'tool') return { type: 'function', function: { name: choice.name ?? '' } };
  return choice.type;
}

export function chatRequestFromMessages(body: JsonObject, ctx: TranslationContext): JsonObject {
  const request = parseBody(messagesRequestSchema, body);
  const messages: JsonObject[] = [];
  if (request.system !== undefined) messages.push({ role: 'system', content: textOf(blocks(request.system)) });
  for (const message of request.messages) {
    const parts: JsonObject[] = [];
    const calls: JsonObject[] = [];
    for (const b of blocks(message.content)) {
      switch (b.type) {
        case 'text':
          parts.push({ type: 'text', text: str(b.text) });
          break;
        case 'image':
          parts.push(imagePart(b));
          break;
        case 'tool_use':
          calls.push({ id: str(b.id), type: 'function', function: { name: str(b.name), arguments: JSON.stringify(b.input ?? {}) } });
          break;
        case 'tool_result':
          // OpenAI answers each call in its own tool message, before the user's next words.
          messages.push({ role: 'tool', tool_call_id: str(b.tool_use_id), content: textOf(b.content) });
          break;
        case 'thinking':
        case 'redacted_thinking':
          break;
        default:
          throw new GatewayError('invalid_request', `A ${b.type} block cannot be translated to another provider.`, 'messages');
      }
    }
    if (message.role === 'assistant') {
      const text = parts.map((p) => str(p.text)).join('');
      if (text || calls.length) messages.push({ role: 'assistant', content: text || null, ...(calls.length ? { tool_calls: calls } : {}) });
    } else if (parts.length > 0) {
      messages.push({ role: 'user', content: parts.every((p) => p.type === 'text') ? parts.map((p) => str(p.text)).join('') : parts });
    }
  }
  const choice = request.tool_choice;
  return {
    model: ctx.upstreamModel,
    messages,
    max_completion_tokens: request.max_tokens,
    ...(request.tools?.length ? { tools: request.tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema ?? { type: 'object' } } })) } : {}),
    ...(choice && request.tools?.length ? { tool_choice: toolChoice(choice), ...(choice.disable_parallel_tool_use ? { parallel_tool_calls: false } : {}) } : {}),
    ...(request.stop_sequences ? { stop: request.stop_sequences } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.top_p !== undefined ? { top_p: request.top_p } : {}),
    ...(request.metadata?.user_id ? { user: request.metadata.user_id } : {}),
    ...(request.stream ? { stream: true } : {}),
  };
}
