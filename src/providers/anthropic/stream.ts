// Anthropic streaming: message_start carries input (and cache) counts, each message_delta the
// cumulative output count (and, on newer API versions, updated input counts).
import type { SseEvent } from '../../proxy/sse.js';
import { asObject, parseJson, type StreamUsageReader } from '../provider.js';
import { largerUsage, type Endpoint, type Usage } from '../types.js';
import { usageFromObject } from './usage.js';

export function streamUsageReader(_endpoint: Endpoint): StreamUsageReader {
  let usage: Usage | undefined;
  // message_delta carries the final output count; message_start's output_tokens is a placeholder.
  let final = false;
  const onEvent = (event: SseEvent) => {
    const type = event.event;
    if (type !== undefined && type !== 'message_start' && type !== 'message_delta') return;
    const json = asObject(parseJson(event.data));
    const reported = json?.type === 'message_start' ? asObject(json.message)?.usage : json?.type === 'message_delta' ? json.usage : undefined;
    const report = usageFromObject(reported);
    if (!report) return;
    // Counts are cumulative, so the largest of each is the bill: a field absent from a delta
    // reads as 0 and keeps message_start's value, and a later, smaller report cannot lower it.
    usage = largerUsage(usage, report);
    if (json?.type === 'message_delta') final = true;
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
