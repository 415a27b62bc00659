// A Bedrock Converse answer as an OpenAI chat completion, whole or streamed (from ConverseStream's
// event stream, parsed by the relay into events), for an OpenAI client asking for a Bedrock model:
// text, tool calls (toolUse blocks, their input streamed as argument fragments), the stop reason as
// finish_reason and usage in OpenAI's terms (prompt tokens include cache reads and writes).
// Reasoning blocks are not passed on: chat completions has no field for them.
import type { SseEvent } from '../../proxy/sse.js';
import { openaiUsage } from '../anthropic/to-openai.js';
import { completionId, nowSeconds, sseData, sseDone } from '../openai/chat-request.js';
import { asObject, asText, parseJson, type JsonObject, type ResponseTranslator, type TranslationContext } from '../provider.js';
import type { Usage } from '../types.js';
import { usageFromTokenUsage } from './usage.js';

const finishReasons: Record<string, string> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls', content_filtered: 'content_filter', guardrail_intervened: 'content_filter' };
const finishReason = (stop: unknown): string | null => (typeof stop === 'string' ? (finishReasons[stop] ?? 'stop') : null);

// Converse answers carry no id; the client's completion gets the gateway's.
const answerId = completionId('tollgate');

function completion(answer: JsonObject, model: string): JsonObject {
  const blocks = asObject(asObject(answer.output)?.message)?.content;
  const list = Array.isArray(blocks) ? blocks.map(asObject) : [];
  const text = list.map((b) => (typeof b?.text === 'string' ? b.text : '')).join('');
  const calls = list
    .map((b) => asObject(b?.toolUse))
    .filter((t): t is JsonObject => t !== undefined)
    .map((t) => ({ id: asText(t.toolUseId), type: 'function', function: { name: asText(t.name), arguments: JSON.stringify(t.input ?? {}) } }));
  const usage = usageFromTokenUsage(answer.usage);
  return {
    id: answerId,
    object: 'chat.completion',
    created: nowSeconds(),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text || (calls.length ? null : ''), refusal: null, ...(calls.length ? { tool_calls: calls } : {}) }, finish_reason: finishReason(answer.stopReason), logprobs: null }],
    ...(usage ? { usage: openaiUsage(usage) } : {}),
  };
}

export function chatFromConverse(clientBody: JsonObject, ctx: TranslationContext): ResponseTranslator {
  const includeUsage = asObject(clientBody.stream_options)?.include_usage === true;
  const created = nowSeconds();
  let usage: Usage | undefined;
  // Bedrock numbers content blocks; OpenAI numbers tool calls from 0.
  const toolIndexByBlock = new Map<number, number>();
  const chunk = (delta: JsonObject, finish: string | null = null) =>
    sseData({ id: answerId, object: 'chat.completion.chunk', created, model: ctx.clientModel, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });

  const event = ({ event: type, data }: SseEvent): string => {
    const json = asObject(parseJson(data));
    switch (type) {
      case 'messageStart':
        return chunk({ role: 'assistant', content: '' });
      case 'contentBlockStart': {
        const tool = asObject(asObject(json?.start)?.toolUse);
        if (!tool) return '';
        const index = toolIndexByBlock.size;
        toolIndexByBlock.set(Number(json?.contentBlockIndex), index);
        return chunk({ tool_calls: [{ index, id: asText(tool.toolUseId), type: 'function', function: { name: asText(tool.name), arguments: '' } }] });
      }
      case 'contentBlockDelta': {
        const delta = asObject(json?.delta);
        if (typeof delta?.text === 'string') return chunk({ content: delta.text });
        const input = asObject(delta?.toolUse)?.input;
        if (typeof input === 'string') return chunk({ tool_calls: [{ index: toolIndexByBlock.get(Number(json?.contentBlockIndex)) ?? 0, function: { arguments: input } }] });
        return '';
      }
      case 'messageStop':
        return chunk({}, finishReason(json?.stopReason) ?? 'stop');
      case 'metadata':
        usage = usageFromTokenUsage(json?.usage) ?? usage;
        return '';
      case 'contentBlockStop':
      case undefined:
        return '';
      default:
        // An exception in the stream (throttlingException, modelStreamErrorException...).
        return sseData({ error: { message: asText(json?.message), type, code: null, param: null } });
    }
  };

  return {
    body: (upstream) => completion(asObject(upstream) ?? {}, ctx.clientModel),
    event,
    end: () => (includeUsage && usage ? sseData({ id: answerId, object: 'chat.completion.chunk', created, model: ctx.clientModel, choices: [], usage: openaiUsage(usage) }) : '') + sseDone,
  };
}
