// An OpenAI chat completions request as an Anthropic Messages request, for an OpenAI client asking
// for a Claude model. Translated: system/developer messages (joined into `system`), user text and
// images (base64 data URLs inline, https URLs by reference), assistant text and tool calls, tool
// results (consecutive ones in one user turn, as Anthropic wants turns to alternate), tools and
// tool_choice, parallel_tool_calls: false, stop, temperature, top_p, the output cap, JSON mode (an
// instruction in the system prompt: Anthropic has no JSON mode) and streaming. Refused (400):
// n > 1, logprobs. Ignored: fields Anthropic has no equivalent for (seed, penalties, logit_bias).
import { GatewayError } from '../../errors/catalogue.js';
import { chatMaxTokens, chatTurns, jsonInstruction, parseChatRequest, parseDataUrl, stopSequences, toolArguments, type ChatContent, type ChatRequest } from '../openai/chat-request.js';
import type { JsonObject, TranslationContext } from '../provider.js';

type Block = JsonObject;

function imageBlock(url: string): Block {
  const inline = parseDataUrl(url);
  if (inline) return { type: 'image', source: { type: 'base64', media_type: inline.mediaType, data: inline.data } };
  if (url.startsWith('https://')) return { type: 'image', source: { type: 'url', url } };
  throw new GatewayError('invalid_request', 'An image must be a base64 data URL or an https URL.', 'messages');
}

function userBlocks(content: ChatContent): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.map((part) => (part.type === 'text' ? { type: 'text', text: part.text } : imageBlock(part.image_url.url)));
}

function toolChoice(choice: ChatRequest['tool_choice'], parallel: boolean | undefined): JsonObject | undefined {
  const noParallel = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined) return parallel === false ? { type: 'auto', ...noParallel } : undefined;
  if (choice === 'auto') return { type: 'auto', ...noParallel };
  if (choice === 'required') return { type: 'any', ...noParallel };
  if (choice === 'none') return { type: 'none' };
  return { type: 'tool', name: choice.function.name, ...noParallel };
}

export function messagesFromChat(body: JsonObject, ctx: TranslationContext): JsonObject {
  const request = parseChatRequest(body);
  const { system, turns } = chatTurns<'assistant', Block>(request.messages, {
    assistantRole: 'assistant',
    user: userBlocks,
    text: (text) => ({ type: 'text', text }),
    toolCall: (call) => ({ type: 'tool_use', id: call.id, name: call.function.name, input: toolArguments(call) }),
    toolResult: (callId, text) => ({ type: 'tool_result', tool_use_id: callId, content: text }),
  });
  const json = jsonInstruction(request.response_format);
  if (json) system.push(json);
  const choice = request.tools?.length ? toolChoice(request.tool_choice, request.parallel_tool_calls) : undefined;
  return {
    model: ctx.upstreamModel,
    // Anthropic requires a cap: the catalog's stands in when the client set none.
    max_tokens: chatMaxTokens(body) ?? ctx.maxOutputTokens,
    messages: turns.map(({ role, items }) => ({ role, content: items })),
    ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
    ...(request.tools?.length
      ? { tools: request.tools.map((t) => ({ name: t.function.name, ...(t.function.description ? { description: t.function.description } : {}), input_schema: t.function.parameters ?? { type: 'object' } })) }
      : {}),
    ...(choice ? { tool_choice: choice } : {}),
    ...(stopSequences(request.stop) ? { stop_sequences: stopSequences(request.stop) } : {}),
    ...(request.temperature != null ? { temperature: request.temperature } : {}),
    ...(request.top_p != null ? { top_p: request.top_p } : {}),
    ...(request.stream ? { stream: true } : {}),
  };
}
