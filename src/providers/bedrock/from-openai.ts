// An OpenAI chat completions request as a Bedrock Converse request, for an OpenAI client asking for
// a Bedrock model. Translated: system/developer messages (system blocks), user text and images
// (base64 data URLs as image bytes), assistant text and tool calls (toolUse), tool results
// (toolResult), tools (toolSpec with their JSON schema) and tool_choice (auto, any, a named tool),
// stop, temperature, top_p, the output cap (inferenceConfig.maxTokens), JSON mode (an instruction in
// the system prompt: Converse has none) and streaming (ConverseStream). Refused (400): n > 1,
// logprobs, image URLs that are not data URLs, and tool_choice "none" (Converse cannot forbid
// calls to tools it is given).
import { GatewayError } from '../../errors/catalogue.js';
import { chatMaxTokens, chatTurns, jsonInstruction, parseChatRequest, parseDataUrl, stopSequences, toolArguments, type ChatContent, type ChatRequest } from '../openai/chat-request.js';
import type { JsonObject } from '../provider.js';

type Block = JsonObject;

const imageFormats: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };

function userBlocks(content: ChatContent): Block[] {
  if (typeof content === 'string') return [{ text: content }];
  return content.map((part) => {
    if (part.type === 'text') return { text: part.text };
    const inline = parseDataUrl(part.image_url.url);
    const format = inline ? imageFormats[inline.mediaType] : undefined;
    if (!inline || !format) throw new GatewayError('invalid_request', 'Images for Bedrock models must be base64 data URLs of PNG, JPEG, GIF or WebP images.', 'messages');
    return { image: { format, source: { bytes: inline.data } } };
  });
}

function toolChoice(choice: ChatRequest['tool_choice']): JsonObject | undefined {
  if (choice === undefined || choice === 'auto') return undefined;
  if (choice === 'none') throw new GatewayError('invalid_request', 'tool_choice "none" cannot be translated for a Bedrock model: send the request without tools.', 'tool_choice');
  if (choice === 'required') return { any: {} };
  return { tool: { name: choice.function.name } };
}

export function converseFromChat(body: JsonObject): JsonObject {
  const request = parseChatRequest(body);
  const turned = chatTurns<'assistant', Block>(request.messages, {
    assistantRole: 'assistant',
    user: userBlocks,
    text: (text) => ({ text }),
    toolCall: (call) => ({ toolUse: { toolUseId: call.id, name: call.function.name, input: toolArguments(call) } }),
    toolResult: (callId, text) => ({ toolResult: { toolUseId: callId, content: [{ text }] } }),
  });
  const system: Block[] = turned.system.map((text) => ({ text }));
  const turns = turned.turns;
  const json = jsonInstruction(request.response_format);
  if (json) system.push({ text: json });
  const max = chatMaxTokens(body);
  const stop = stopSequences(request.stop);
  const inferenceConfig = {
    ...(max !== undefined ? { maxTokens: max } : {}),
    ...(request.temperature != null ? { temperature: request.temperature } : {}),
    ...(request.top_p != null ? { topP: request.top_p } : {}),
    ...(stop ? { stopSequences: stop } : {}),
  };
  const choice = request.tools?.length ? toolChoice(request.tool_choice) : undefined;
  return {
    messages: turns.map(({ role, items }) => ({ role, content: items })),
    ...(system.length > 0 ? { system } : {}),
    ...(request.tools?.length
      ? {
          toolConfig: {
            tools: request.tools.map((t) => ({ toolSpec: { name: t.function.name, ...(t.function.description ? { description: t.function.description } : {}), inputSchema: { json: t.function.parameters ?? { type: 'object', properties: {} } } } })),
            ...(choice ? { toolChoice: choice } : {}),
          },
        }
      : {}),
    ...(Object.keys(inferenceConfig).length > 0 ? { inferenceConfig } : {}),
  };
}
