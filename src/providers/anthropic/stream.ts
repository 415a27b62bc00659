// Anthropic streaming: message_start carries input (and cache) counts, each message_delta the
// cumulative output count (and, on newer API versions, updated input counts).
import type { SseEvent } from '../../proxy/sse.js';
import { asObject, parseJson, type StreamUsageReader } from '../provider.js';
import type { Endpoint, Usage } from '../types.js';
import { usageFromObject } from './usage.js';

export function streamUsageReader(_endpoint: Endpoint): StreamUsageReader {
  let usage: Usage | undefined;
  // message_delta carries the final output count; message_start's output_tokens is a placeholder.
  let final = false;
  const onEvent = (event: SseEvent) => {
    const type = event.event;
    if (type !== undefined && type !== 'message_start' && type !== 'message_delta') return;
    const json = asObject(parseJson(event.data));
    if (json?.type === 'message_start') {
      usage = usageFromObject(asObject(json.message)?.usage);
    } else if (json?.type === 'message_delta') {
      const delta = asObject(json.usage);
      if (!delta) return;
      // Fields absent from the delta keep their message_start values.
      const merged = usageFromObject({
        input_tokens: delta.input_tokens ?? (usage ? usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens : 0),
        cache_read_input_tokens: delta.cache_read_input_tokens ?? usage?.cachedTokens,
        cache_creation_input_tokens: delta.cache_creation_input_tokens ?? usage?.cacheWriteTokens,
        output_tokens: delta.output_tokens ?? usage?.completionTokens,
      });
      usage = merged ?? usage;
      final = merged !== undefined;
    }
  };
  return { onEvent, usage: () => usage, final: () => final };
}

export function deliveredText(_endpoint: Endpoint, events: readonly SseEvent[] | undefined, body: unknown): string {
  const parts: string[] = [];
  const push = (block: unknown) => {
    const b = asObject(block);
    if (typeof b?.text === 'string') parts.push(b.text);
    if (typeof b?.partial_json === 'string') parts.push(b.partial_json);
    if (typeof b?.thinking === 'string') parts.push(b.thinking);
  };
  if (events) {
    for (const event of events) push(asObject(parseJson(event.data))?.delta);
  } else {
    const content = asObject(body)?.content;
    if (Array.isArray(content)) content.forEach(push);
  }
  return parts.join('');
}
