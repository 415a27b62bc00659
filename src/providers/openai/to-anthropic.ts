// An OpenAI chat completion as an Anthropic Messages answer, whole or streamed, for an Anthropic
// client asking for an OpenAI model: text and tool calls as content blocks (arguments streamed as
// input_json_delta), finish_reason as stop_reason, usage in Anthropic's terms (input_tokens without
// the cached part, which is cache_read_input_tokens). The usage chunk the gateway asks for closes
// the stream's message_delta.
import type { SseEvent } from '../../proxy/sse.js';
import { asObject, asText, parseJson, type JsonObject, type ResponseTranslator, type TranslationContext } from '../provider.js';
import type { Usage } from '../types.js';
import { usageFromObject } from './usage.js';

const stopReasons: Record<string, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', function_call: 'tool_use', content_filter: 'refusal' };
const stopReason = (finish: unknown): string => stopReasons[asText(finish)] ?? 'end_turn';
const messageId = (id: string): string => (id.startsWith('msg_') ? id : `msg_${id}`);

const anthropicUsage = (u: Usage | undefined) => ({
  input_tokens: u ? u.promptTokens - u.cachedTokens : 0,
  cache_read_input_tokens: u?.cachedTokens ?? 0,
  cache_creation_input_tokens: 0,
  output_tokens: u?.completionTokens ?? 0,
});

const sse = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function message(completion: JsonObject, model: string): JsonObject {
  const choice = asObject(Array.isArray(completion.choices) ? completion.choices[0] : undefined);
  const msg = asObject(choice?.message);
  const calls = Array.isArray(msg?.tool_calls) ? msg.tool_calls.map(asObject) : [];
  const content = [
    ...(typeof msg?.content === 'string' && msg.content ? [{ type: 'text', text: msg.content }] : []),
    ...calls.map((c) => ({ type: 'tool_use', id: asText(c?.id), name: asText(asObject(c?.function)?.name), input: asObject(parseJson(asText(asObject(c?.function)?.arguments))) ?? {} })),
  ];
  return { id: messageId(asText(completion.id)), type: 'message', role: 'assistant', model, content, stop_reason: stopReason(choice?.finish_reason), stop_sequence: null, usage: anthropicUsage(usageFromObject(completion.usage)) };
}

export function messagesAnswerFromChat(_clientBody: JsonObject, ctx: TranslationContext): ResponseTranslator {
  let started = false;
  let open: { index: number; kind: 'text' | 'tool' } | undefined;
  let blocks = 0;
  let stop = 'end_turn';
  let usage: Usage | undefined;
  const close = (): string => {
    if (!open) return '';
    const out = sse('content_block_stop', { type: 'content_block_stop', index: open.index });
    open = undefined;
    return out;
  };
  const openBlock = (kind: 'text' | 'tool', block: JsonObject): string => {
    const out = close() + sse('content_block_start', { type: 'content_block_start', index: blocks, content_block: block });
    open = { index: blocks++, kind };
    return out;
  };

  const event = ({ data }: SseEvent): string => {
    const json = asObject(parseJson(data));
    if (!json) return '';
    let out = '';
    if (!started) {
      started = true;
      out += sse('message_start', { type: 'message_start', message: { id: messageId(asText(json.id)), type: 'message', role: 'assistant', model: ctx.clientModel, content: [], stop_reason: null, stop_sequence: null, usage: anthropicUsage(undefined) } });
    }
    usage = usageFromObject(json.usage) ?? usage;
    const choice = asObject(Array.isArray(json.choices) ? json.choices[0] : undefined);
    const delta = asObject(choice?.delta);
    if (typeof delta?.content === 'string' && delta.content) {
      if (open?.kind !== 'text') out += openBlock('text', { type: 'text', text: '' });
      out += sse('content_block_delta', { type: 'content_block_delta', index: open!.index, delta: { type: 'text_delta', text: delta.content } });
    }
    for (const call of Array.isArray(delta?.tool_calls) ? delta.tool_calls.map(asObject) : []) {
      const fn = asObject(call?.function);
      if (typeof call?.id === 'string') out += openBlock('tool', { type: 'tool_use', id: call.id, name: asText(fn?.name), input: {} });
      if (typeof fn?.arguments === 'string' && fn.arguments && open?.kind === 'tool') {
        out += sse('content_block_delta', { type: 'content_block_delta', index: open.index, delta: { type: 'input_json_delta', partial_json: fn.arguments } });
      }
    }
    if (typeof choice?.finish_reason === 'string') {
      stop = stopReason(choice.finish_reason);
      out += close();
    }
    return out;
  };

  return {
    body: (upstream) => message(asObject(upstream) ?? {}, ctx.clientModel),
    event,
    end: () => (started ? close() + sse('message_delta', { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: anthropicUsage(usage) }) + sse('message_stop', { type: 'message_stop' }) : ''),
  };
}
