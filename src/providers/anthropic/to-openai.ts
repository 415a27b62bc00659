// An Anthropic Messages answer as an OpenAI chat completion, whole or streamed, for an OpenAI
// client asking for a Claude model: text, tool calls (tool_use blocks, their input streamed as
// argument fragments), the stop reason as finish_reason and usage in OpenAI's terms (prompt
// tokens include cache reads and writes). Thinking blocks are not passed on: chat completions has
// no field for them.
import type { SseEvent } from '../../proxy/sse.js';
import { completionId, nowSeconds, sseData, sseDone } from '../openai/chat-request.js';
import { asObject, asText, parseJson, type JsonObject, type ResponseTranslator, type TranslationContext } from '../provider.js';
import type { Usage } from '../types.js';
import { usageFromObject } from './usage.js';

const finishReasons: Record<string, string> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls', refusal: 'content_filter', pause_turn: 'stop' };
const finishReason = (stop: unknown): string | null => (typeof stop === 'string' ? (finishReasons[stop] ?? 'stop') : null);

export const openaiUsage = (u: Usage) => ({
  prompt_tokens: u.promptTokens,
  completion_tokens: u.completionTokens,
  total_tokens: u.promptTokens + u.completionTokens,
  prompt_tokens_details: { cached_tokens: u.cachedTokens },
  completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
});

function completion(message: JsonObject, model: string): JsonObject {
  const blocks = Array.isArray(message.content) ? message.content.map(asObject) : [];
  const text = blocks.filter((b) => b?.type === 'text').map((b) => asText(b!.text)).join('');
  const calls = blocks
    .filter((b) => b?.type === 'tool_use')
    .map((b) => ({ id: asText(b!.id), type: 'function', function: { name: asText(b!.name), arguments: JSON.stringify(b!.input ?? {}) } }));
  const usage = usageFromObject(message.usage);
  return {
    id: completionId(asText(message.id)),
    object: 'chat.completion',
    created: nowSeconds(),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text || (calls.length ? null : ''), refusal: null, ...(calls.length ? { tool_calls: calls } : {}) }, finish_reason: finishReason(message.stop_reason), logprobs: null }],
    ...(usage ? { usage: openaiUsage(usage) } : {}),
  };
}

export function chatFromMessages(clientBody: JsonObject, ctx: TranslationContext): ResponseTranslator {
  const includeUsage = asObject(clientBody.stream_options)?.include_usage === true;
  const created = nowSeconds();
  let id = 'chatcmpl-tollgate';
  let usage: Usage | undefined;
  // Anthropic numbers content blocks; OpenAI numbers tool calls from 0.
  const toolIndexByBlock = new Map<number, number>();
  const chunk = (delta: JsonObject, finish: string | null = null) =>
    sseData({ id, object: 'chat.completion.chunk', created, model: ctx.clientModel, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });

  const event = ({ data }: SseEvent): string => {
    const json = asObject(parseJson(data));
    switch (json?.type) {
      case 'message_start': {
        const message = asObject(json.message);
        id = completionId(asText(message?.id));
        usage = usageFromObject(message?.usage);
        return chunk({ role: 'assistant', content: '' });
      }
      case 'content_block_start': {
        const block = asObject(json.content_block);
        if (block?.type !== 'tool_use') return '';
        const index = toolIndexByBlock.size;
        toolIndexByBlock.set(Number(json.index), index);
        return chunk({ tool_calls: [{ index, id: asText(block.id), type: 'function', function: { name: asText(block.name), arguments: '' } }] });
      }
      case 'content_block_delta': {
        const delta = asObject(json.delta);
        if (delta?.type === 'text_delta') return chunk({ content: asText(delta.text) });
        if (delta?.type === 'input_json_delta') return chunk({ tool_calls: [{ index: toolIndexByBlock.get(Number(json.index)) ?? 0, function: { arguments: asText(delta.partial_json) } }] });
        return '';
      }
      case 'message_delta': {
        const reported = usageFromObject(json.usage);
        // message_delta carries the final output count; input counts stay message_start's unless resent.
        if (usage && reported) usage = { ...usage, completionTokens: reported.completionTokens, ...(reported.promptTokens > 0 ? { promptTokens: reported.promptTokens, cachedTokens: reported.cachedTokens, cacheWriteTokens: reported.cacheWriteTokens } : {}) };
        return chunk({}, finishReason(asObject(json.delta)?.stop_reason) ?? 'stop');
      }
      case 'error':
        return sseData({ error: asObject(json.error) ?? {} });
      default:
        return '';
    }
  };

  return {
    body: (upstream) => completion(asObject(upstream) ?? {}, ctx.clientModel),
    event,
    end: () => (includeUsage && usage ? sseData({ id, object: 'chat.completion.chunk', created, model: ctx.clientModel, choices: [], usage: openaiUsage(usage) }) : '') + sseDone,
  };
}
