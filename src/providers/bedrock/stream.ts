// ConverseStream's events (AWS event stream frames, see event-stream.ts): messageStart,
// contentBlockStart/Delta/Stop, messageStop, then `metadata`, which carries the usage and closes
// the count. Only the metadata event is JSON-parsed for usage.
import type { SseEvent } from '../../proxy/sse.js';
import { asObject, parseJson, type StreamUsageReader } from '../provider.js';
import { largerUsage, type Endpoint, type Usage } from '../types.js';
import { usageFromTokenUsage } from './usage.js';

export function streamUsageReader(_endpoint: Endpoint): StreamUsageReader {
  let usage: Usage | undefined;
  let final = false;
  const onEvent = (event: SseEvent) => {
    if (event.event !== 'metadata') return;
    // A second report may repeat or undercut the first: the larger is the bill.
    usage = largerUsage(usage, usageFromTokenUsage(asObject(parseJson(event.data))?.usage));
    if (usage) final = true;
  };
  return { onEvent, usage: () => usage, final: () => final };
}

// A content block's text: text, reasoning text, and a tool call's input (its JSON).
function blockText(block: unknown, parts: string[]): void {
  const b = asObject(block);
  if (!b) return;
  if (typeof b.text === 'string') parts.push(b.text);
  const reasoning = asObject(b.reasoningContent);
  const reasoningText = asObject(reasoning?.reasoningText)?.text ?? reasoning?.text;
  if (typeof reasoningText === 'string') parts.push(reasoningText);
  const toolUse = asObject(b.toolUse);
  if (toolUse) parts.push(typeof toolUse.input === 'string' ? toolUse.input : JSON.stringify(toolUse.input ?? {}));
}

export function deliveredText(_endpoint: Endpoint, events: readonly SseEvent[] | undefined, body: unknown): string {
  const parts: string[] = [];
  if (events) {
    for (const event of events) {
      if (event.event === 'contentBlockDelta') blockText(asObject(parseJson(event.data))?.delta, parts);
    }
  } else {
    const content = asObject(asObject(asObject(body)?.output)?.message)?.content;
    if (Array.isArray(content)) for (const block of content) blockText(block, parts);
  }
  return parts.join('');
}
