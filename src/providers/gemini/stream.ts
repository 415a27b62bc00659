// Gemini streaming with alt=sse: every event is a `data:` line holding one GenerateContentResponse
// chunk, each with usageMetadata so far; the chunk with a finishReason carries the final count.
// (Without alt=sse the answer is one JSON array, read whole by usageFromBody.)
import type { SseEvent } from '../../proxy/sse.js';
import { asObject, parseJson, type StreamUsageReader } from '../provider.js';
import { largerUsage, type Endpoint, type Usage } from '../types.js';
import { isFinalChunk, usageFromMetadata } from './usage.js';

// Cheap pre-check so a chunk without usage is never JSON-parsed for it.
const hasUsage = /"usageMetadata"\s*:/;

export function streamUsageReader(_endpoint: Endpoint): StreamUsageReader {
  let usage: Usage | undefined;
  let final = false;
  const onEvent = (event: SseEvent) => {
    if (!hasUsage.test(event.data)) return;
    const chunk = parseJson(event.data);
    // Cumulative counts: the largest report is the bill, so a later smaller one cannot lower it.
    usage = largerUsage(usage, usageFromMetadata(asObject(chunk)?.usageMetadata));
    if (usage && isFinalChunk(chunk)) final = true;
  };
  return { onEvent, usage: () => usage, final: () => final };
}

// The text of one chunk (or answer): candidates' text parts, thoughts and function call arguments.
function chunkText(chunk: unknown, parts: string[]): void {
  const candidates = asObject(chunk)?.candidates;
  if (!Array.isArray(candidates)) return;
  for (const candidate of candidates) {
    const content = asObject(asObject(candidate)?.content)?.parts;
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      const p = asObject(part);
      if (typeof p?.text === 'string') parts.push(p.text);
      const call = asObject(p?.functionCall);
      if (call) parts.push(JSON.stringify(call.args ?? {}));
    }
  }
}

export function deliveredText(_endpoint: Endpoint, events: readonly SseEvent[] | undefined, body: unknown): string {
  const parts: string[] = [];
  if (events) for (const event of events) chunkText(parseJson(event.data), parts);
  else if (Array.isArray(body)) for (const chunk of body) chunkText(chunk, parts);
  else chunkText(body, parts);
  return parts.join('');
}
