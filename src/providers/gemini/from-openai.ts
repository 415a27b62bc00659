// An OpenAI chat completions request as a Gemini generateContent request, for an OpenAI client
// asking for a Gemini model. Translated: system/developer messages (systemInstruction), user text
// and images (base64 data URLs as inlineData), assistant text and tool calls (functionCall), tool
// results (functionResponse, named after the call they answer), tools (functionDeclarations with
// their JSON schema) and tool_choice (functionCallingConfig), stop, temperature, top_p, the output
// cap, JSON mode and JSON schema (responseMimeType / responseJsonSchema) and streaming (SSE).
// Refused (400): n > 1, logprobs, image URLs that are not data URLs (Gemini reads only its own
// file URIs). Ignored: fields Gemini has no equivalent for (seed, logit_bias).
import { GatewayError } from '../../errors/catalogue.js';
import { chatMaxTokens, chatTurns, parseChatRequest, parseDataUrl, stopSequences, toolArguments, type ChatContent, type ChatRequest } from '../openai/chat-request.js';
import type { JsonObject } from '../provider.js';

type Part = JsonObject;

function userParts(content: ChatContent): Part[] {
  if (typeof content === 'string') return [{ text: content }];
  return content.map((part) => {
    if (part.type === 'text') return { text: part.text };
    const inline = parseDataUrl(part.image_url.url);
    if (!inline) throw new GatewayError('invalid_request', 'Images for Gemini models must be base64 data URLs.', 'messages');
    return { inlineData: { mimeType: inline.mediaType, data: inline.data } };
  });
}

function toolConfig(choice: ChatRequest['tool_choice']): JsonObject | undefined {
  if (choice === undefined) return undefined;
  if (typeof choice === 'object') return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
  return { functionCallingConfig: { mode: ({ auto: 'AUTO', none: 'NONE', required: 'ANY' } as const)[choice] } };
}

function responseFormat(format: ChatRequest['response_format']): JsonObject {
  if (!format || format.type === 'text') return {};
  const schema = (format as { json_schema?: { schema?: unknown } }).json_schema?.schema;
  return { responseMimeType: 'application/json', ...(schema ? { responseJsonSchema: schema } : {}) };
}

export function generateContentFromChat(body: JsonObject): JsonObject {
  const request = parseChatRequest(body);
  // A function response names its function; OpenAI's tool message only names the call's id.
  const functionByCallId = new Map<string, string>();
  const turned = chatTurns<'model', Part>(request.messages, {
    assistantRole: 'model',
    user: userParts,
    text: (text) => ({ text }),
    toolCall: (call) => {
      functionByCallId.set(call.id, call.function.name);
      return { functionCall: { name: call.function.name, args: toolArguments(call) } };
    },
    toolResult: (callId, text) => {
      const name = functionByCallId.get(callId);
      if (!name) throw new GatewayError('invalid_request', `No assistant tool call has the id "${callId}".`, 'messages');
      return { functionResponse: { name, response: { content: text } } };
    },
  });
  const system: Part[] = turned.system.map((text) => ({ text }));
  const turns = turned.turns;
  const max = chatMaxTokens(body);
  const stop = stopSequences(request.stop);
  const generationConfig = {
    ...(max !== undefined ? { maxOutputTokens: max } : {}),
    ...(request.temperature != null ? { temperature: request.temperature } : {}),
    ...(request.top_p != null ? { topP: request.top_p } : {}),
    ...(stop ? { stopSequences: stop } : {}),
    ...responseFormat(request.response_format),
  };
  const config = request.tools?.length ? toolConfig(request.tool_choice) : undefined;
  return {
    contents: turns.map(({ role, items }) => ({ role, parts: items })),
    ...(system.length > 0 ? { systemInstruction: { parts: system } } : {}),
    ...(request.tools?.length
      ? { tools: [{ functionDeclarations: request.tools.map((t) => ({ name: t.function.name, ...(t.function.description ? { description: t.function.description } : {}), ...(t.function.parameters ? { parametersJsonSchema: t.function.parameters } : {}) })) }] }
      : {}),
    ...(config ? { toolConfig: config } : {}),
    ...(Object.keys(generationConfig).length > 0 ? { generationConfig } : {}),
  };
}
