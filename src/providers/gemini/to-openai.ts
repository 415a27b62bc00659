// A Gemini answer as an OpenAI chat completion, whole or streamed (from ?alt=sse chunks), for an
// OpenAI client asking for a Gemini model: text parts, function calls as tool calls (ids made up,
// as Gemini's calls carry none), finishReason as finish_reason and usageMetadata in OpenAI's terms
// (thinking counted in completion tokens, as Gemini bills it). Thought parts are not passed on.
import type { SseEvent } from '../../proxy/sse.js';
import { openaiUsage } from '../anthropic/to-openai.js';
import { completionId, nowSeconds, sseData, sseDone } from '../openai/chat-request.js';
import { asObject, asText, parseJson, type JsonObject, type ResponseTranslator, type TranslationContext } from '../provider.js';
import { largerUsage, type Usage } from '../types.js';
import { usageFromMetadata } from './usage.js';

const finishReasons: Record<string, string> = { STOP: 'stop', MAX_TOKENS: 'length', SAFETY: 'content_filter', RECITATION: 'content_filter', BLOCKLIST: 'content_filter', PROHIBITED_CONTENT: 'content_filter', SPII: 'content_filter' };

interface Read {
  text: string;
  calls: Array<{ name: string; args: unknown }>;
  finish: string | null;
}

// The first candidate of one chunk or answer (n is 1 for translated requests).
function readCandidate(chunk: JsonObject | undefined): Read {
  const candidate = asObject(Array.isArray(chunk?.candidates) ? chunk.candidates[0] : undefined);
  const parts = asObject(candidate?.content)?.parts;
  const read: Read = { text: '', calls: [], finish: null };
  for (const part of Array.isArray(parts) ? parts.map(asObject) : []) {
    if (part?.thought === true) continue;
    if (typeof part?.text === 'string') read.text += part.text;
    const call = asObject(part?.functionCall);
    if (call) read.calls.push({ name: asText(call.name), args: call.args ?? {} });
  }
  if (typeof candidate?.finishReason === 'string') read.finish = finishReasons[candidate.finishReason] ?? 'stop';
  else if (asObject(chunk?.promptFeedback)?.blockReason !== undefined) read.finish = 'content_filter';
  return read;
}

const toolCall = (call: Read['calls'][number], index: number, id: string) => ({ id: `call_${id}_${index}`, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args) } });

export function chatFromGenerateContent(clientBody: JsonObject, ctx: TranslationContext): ResponseTranslator {
  const includeUsage = asObject(clientBody.stream_options)?.include_usage === true;
  const created = nowSeconds();
  let id = '';
  let usage: Usage | undefined;
  let started = false;
  let callsSent = 0;
  let finished = false;
  const chunk = (delta: JsonObject, finish: string | null) =>
    sseData({ id: completionId(id), object: 'chat.completion.chunk', created, model: ctx.clientModel, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });

  const event = ({ data }: SseEvent): string => {
    const json = asObject(parseJson(data));
    if (!json) return '';
    id ||= asText(json.responseId) || 'tollgate';
    usage = largerUsage(usage, usageFromMetadata(json.usageMetadata));
    const read = readCandidate(json);
    const calls = read.calls.map((call, i) => ({ index: callsSent + i, ...toolCall(call, callsSent + i, id) }));
    callsSent += calls.length;
    const delta: JsonObject = { ...(started ? {} : { role: 'assistant' }), ...(read.text ? { content: read.text } : started ? {} : { content: '' }), ...(calls.length ? { tool_calls: calls } : {}) };
    started = true;
    const finish = read.finish === 'stop' && callsSent > 0 ? 'tool_calls' : read.finish;
    if (finish) finished = true;
    return chunk(delta, finish);
  };

  const body = (upstream: unknown): JsonObject => {
    const json = asObject(upstream) ?? {};
    const read = readCandidate(json);
    const responseId = asText(json.responseId) || 'tollgate';
    const calls = read.calls.map((call, i) => toolCall(call, i, responseId));
    const total = usageFromMetadata(json.usageMetadata);
    return {
      id: completionId(responseId),
      object: 'chat.completion',
      created,
      model: ctx.clientModel,
      choices: [{ index: 0, message: { role: 'assistant', content: read.text || (calls.length ? null : ''), refusal: null, ...(calls.length ? { tool_calls: calls } : {}) }, finish_reason: read.finish === 'stop' && calls.length ? 'tool_calls' : read.finish, logprobs: null }],
      ...(total ? { usage: openaiUsage(total) } : {}),
    };
  };

  return {
    body,
    event,
    end: () => (finished && includeUsage && usage ? sseData({ id: completionId(id), object: 'chat.completion.chunk', created, model: ctx.clientModel, choices: [], usage: openaiUsage(usage) }) : '') + sseDone,
  };
}
