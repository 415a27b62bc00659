// OpenAI streaming: usage arrives in the final chat/completions chunk (when
// stream_options.include_usage is set) or in the Responses API's terminal event.
import type { SseEvent } from '../../proxy/sse.js';
import { asObject, asText, parseJson, type StreamUsageReader } from '../provider.js';
import { largerUsage, type Endpoint, type Usage } from '../types.js';
import { usageFromBody } from './usage.js';

// Cheap pre-check so the common chunk (`"usage":null` or none) is never JSON-parsed.
const hasUsageObject = /"usage"\s*:\s*\{/;
const responsesTerminal = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export function streamUsageReader(endpoint: Endpoint): StreamUsageReader {
  let usage: Usage | undefined;
  const onEvent =
    endpoint === 'responses'
      ? (event: SseEvent) => {
          if (event.event !== undefined && !responsesTerminal.has(event.event)) return;
          if (!hasUsageObject.test(event.data)) return;
          const json = asObject(parseJson(event.data));
          if (json && responsesTerminal.has(asText(json.type))) usage = largerUsage(usage, usageFromBody(json.response));
        }
      : (event: SseEvent) => {
          if (!hasUsageObject.test(event.data)) return;
          usage = largerUsage(usage, usageFromBody(parseJson(event.data)));
        };
  // OpenAI reports usage once, in the stream's last chunk or terminal event; should more reports
  // come (cumulative, repeated or zeroed), the bill is the largest of them.
  return { onEvent, usage: () => usage, final: () => usage !== undefined };
}

export function isUsageOnlyEvent(event: SseEvent): boolean {
  if (!hasUsageObject.test(event.data)) return false;
  const json = asObject(parseJson(event.data));
  return Array.isArray(json?.choices) && json.choices.length === 0;
}

export function deliveredText(endpoint: Endpoint, events: readonly SseEvent[] | undefined, body: unknown): string {
  const parts: string[] = [];
  const fromChoices = (value: unknown, streaming: boolean) => {
    const choices = asObject(value)?.choices;
    if (!Array.isArray(choices)) return;
    for (const choice of choices) {
      const c = asObject(choice);
      const message = asObject(streaming ? c?.delta : c?.message);
      const text = endpoint === 'completions' ? c?.text : message?.content;
      if (typeof text === 'string') parts.push(text);
      const toolCalls = message?.tool_calls;
      if (Array.isArray(toolCalls)) {
        for (const call of toolCalls) {
          const args = asObject(asObject(call)?.function)?.arguments;
          if (typeof args === 'string') parts.push(args);
        }
      }
    }
  };
  if (events) {
    for (const event of events) {
      if (event.data === '[DONE]') continue;
      const json = parseJson(event.data);
      if (endpoint === 'responses') {
        const e = asObject(json);
        if (e?.type === 'response.output_text.delta' && typeof e.delta === 'string') parts.push(e.delta);
      } else fromChoices(json, true);
    }
  } else if (endpoint === 'responses') {
    const output = asObject(body)?.output;
    if (Array.isArray(output)) {
      for (const item of output) {
        const content = asObject(item)?.content;
        if (!Array.isArray(content)) continue;
        for (const c of content) {
          const text = asObject(c)?.text;
          if (typeof text === 'string') parts.push(text);
        }
      }
    }
  } else fromChoices(body, false);
  return parts.join('');
}
