// Reading an OpenAI chat completions request for translation into another provider's format:
// the message and tool shapes, validated with zod at the edge, and the parts every translation
// needs (text of a content, data URLs of images, tool call arguments). Pure.
import { z } from 'zod';
import { GatewayError } from '../../errors/catalogue.js';
import { parseBody } from '../../tokens/parse-body.js';
import { parseJson, type JsonObject } from '../provider.js';

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.looseObject({ type: z.literal('image_url'), image_url: z.looseObject({ url: z.string() }) });
const contentPart = z.union([textPart, imagePart]);
const content = z.union([z.string(), z.array(contentPart)]).nullish();
const toolCall = z.looseObject({ id: z.string(), type: z.literal('function'), function: z.looseObject({ name: z.string(), arguments: z.string() }) });

const message = z.discriminatedUnion('role', [
  z.looseObject({ role: z.enum(['system', 'developer']), content: z.union([z.string(), z.array(textPart)]) }),
  z.looseObject({ role: z.literal('user'), content: z.union([z.string(), z.array(contentPart)]) }),
  z.looseObject({ role: z.literal('assistant'), content, tool_calls: z.array(toolCall).nullish() }),
  z.looseObject({ role: z.literal('tool'), tool_call_id: z.string(), content: z.union([z.string(), z.array(textPart)]) }),
]);

const tool = z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string(), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() }) });

export const chatRequestSchema = z.looseObject({
  messages: z.array(message).min(1),
  tools: z.array(tool).optional(),
  tool_choice: z.union([z.enum(['auto', 'none', 'required']), z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) })]).optional(),
  response_format: z
    .union([z.looseObject({ type: z.enum(['text', 'json_object']) }), z.looseObject({ type: z.literal('json_schema'), json_schema: z.looseObject({ name: z.string(), schema: z.record(z.string(), z.unknown()).optional() }) })])
    .optional(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  n: z.literal(1, 'only n: 1 can be translated to another provider').nullish(),
  logprobs: z.literal(false, 'logprobs cannot be translated to another provider').nullish(),
  parallel_tool_calls: z.boolean().optional(),
  stream: z.boolean().optional(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
});

export type ChatRequest = z.output<typeof chatRequestSchema>;
export type ChatMessage = ChatRequest['messages'][number];
export type ChatContent = Exclude<ChatMessage['content'], null | undefined>;

export const parseChatRequest = (body: JsonObject): ChatRequest => parseBody(chatRequestSchema, body);

// The output cap the client set (either field), or undefined.
export const chatMaxTokens = (body: JsonObject): number | undefined => {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
};

export const stopSequences = (stop: ChatRequest['stop']): string[] | undefined => (stop == null ? undefined : Array.isArray(stop) ? stop : [stop]);

// Text of a content that may hold parts; image parts are not text.
export function contentText(value: ChatContent | null | undefined): string {
  if (value == null) return '';
  if (typeof value === 'string') return value;
  return value.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

export interface DataUrl {
  readonly mediaType: string;
  readonly data: string;
}

// A base64 data URL (data:image/png;base64,...), the only image form every provider accepts inline.
export function parseDataUrl(url: string): DataUrl | undefined {
  const match = /^data:([a-z0-9.+-]+\/[a-z0-9.+-]+);base64,/i.exec(url);
  return match ? { mediaType: match[1]!.toLowerCase(), data: url.slice(match[0].length) } : undefined;
}

// A tool call's arguments, which OpenAI sends as a JSON string: other providers take an object.
export function toolArguments(call: { function: { name: string; arguments: string } }): JsonObject {
  const parsed = parseJson(call.function.arguments || '{}');
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new GatewayError('invalid_request', `The arguments of the call to ${call.function.name} are not a JSON object.`, 'messages');
  }
  return parsed as JsonObject;
}

// The instruction appended to the system prompt of a provider without a JSON mode of its own.
export function jsonInstruction(format: ChatRequest['response_format']): string | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return 'Respond with a single valid JSON object and nothing else.';
  const schema = (format as { json_schema?: { schema?: unknown } }).json_schema?.schema ?? {};
  return `Respond with a single valid JSON object and nothing else, matching this JSON schema: ${JSON.stringify(schema)}`;
}

type ToolCall = NonNullable<Extract<ChatMessage, { role: 'assistant' }>['tool_calls']>[number];

// What a target provider makes of each part of an OpenAI conversation.
export interface TurnItems<R extends string, T> {
  // The target's name for the assistant's turns ('assistant', Gemini's 'model').
  readonly assistantRole: R;
  user(content: ChatContent): T[];
  text(text: string): T;
  toolCall(call: ToolCall): T;
  // A tool's answer, sent back in a user turn.
  toolResult(callId: string, text: string): T;
}

// An OpenAI conversation as the alternating turns Anthropic, Gemini and Bedrock want, with the
// system and developer messages apart: neighbours of one role (a tool message after each call, a
// user message after them) are merged into one turn.
export function chatTurns<R extends string, T>(messages: readonly ChatMessage[], items: TurnItems<R, T>): { system: string[]; turns: Array<{ role: R | 'user'; items: T[] }> } {
  const system: string[] = [];
  const turns: Array<{ role: R | 'user'; items: T[] }> = [];
  const push = (role: R | 'user', added: T[]): void => {
    const last = turns.at(-1);
    if (last?.role === role) last.items.push(...added);
    else turns.push({ role, items: added });
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(contentText(message.content));
        break;
      case 'user':
        push('user', items.user(message.content));
        break;
      case 'assistant': {
        const text = contentText(message.content);
        push(items.assistantRole, [...(text ? [items.text(text)] : []), ...(message.tool_calls ?? []).map((call) => items.toolCall(call))]);
        break;
      }
      case 'tool':
        push('user', [items.toolResult(message.tool_call_id, contentText(message.content))]);
        break;
    }
  }
  return { system, turns };
}

// The chat.completion envelope every translated answer shares.
export const completionId = (id: string): string => (id.startsWith('chatcmpl-') ? id : `chatcmpl-${id}`);
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
export const sseData = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`;
export const sseDone = 'data: [DONE]\n\n';
