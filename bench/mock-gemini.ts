// The Gemini half of the mock upstream (bench/mock-upstream.ts): POST
// /v1beta/models/{model}:generateContent, :streamGenerateContent (a streamed JSON array by default,
// Server-Sent Events with ?alt=sse) and :countTokens, in Google's wire format. The same [mock ...]
// directives apply: chunks, delay_ms, status, prompt_tokens, cached_tokens, audio_tokens, reasoning_tokens
// (thoughtsTokenCount), completion_tokens, no_usage, fill (generationConfig.maxOutputTokens),
// hang, reset_after, echo_credentials. A request with function declarations whose last turn is not
// a function response is answered with a call of the first declared function.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type MockBehaviour, sleep, token } from './mock-upstream.js';

export type GeminiMethod = 'generateContent' | 'streamGenerateContent' | 'countTokens';

const route = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/;

export function geminiRoute(path: string): { model: string; method: GeminiMethod } | undefined {
  const match = route.exec(path);
  return match ? { model: decodeURIComponent(match[1]!), method: match[2] as GeminiMethod } : undefined;
}

type Json = Record<string, unknown>;
const obj = (value: unknown): Json | undefined => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined);

// The function to call, when the request declares one and is not already answering a call.
function functionToCall(body: Json): string | undefined {
  const contents = Array.isArray(body.contents) ? body.contents : [];
  const lastParts = obj(contents.at(-1))?.parts;
  if (Array.isArray(lastParts) && lastParts.some((p) => obj(p)?.functionResponse !== undefined)) return undefined;
  const tools = Array.isArray(body.tools) ? body.tools : [];
  for (const tool of tools) {
    const declarations = obj(tool)?.functionDeclarations;
    const name = Array.isArray(declarations) ? obj(declarations[0])?.name : undefined;
    if (typeof name === 'string') return name;
  }
  return undefined;
}

function usageMetadata(b: MockBehaviour, candidates: number) {
  const output = b.completionTokens >= 0 ? b.completionTokens : candidates;
  return {
    promptTokenCount: b.promptTokens,
    candidatesTokenCount: output,
    totalTokenCount: b.promptTokens + output + b.reasoningTokens,
    ...(b.cachedTokens > 0 ? { cachedContentTokenCount: b.cachedTokens } : {}),
    ...(b.reasoningTokens > 0 ? { thoughtsTokenCount: b.reasoningTokens } : {}),
    promptTokensDetails: [
      { modality: 'TEXT', tokenCount: b.promptTokens - b.audioTokens },
      ...(b.audioTokens > 0 ? [{ modality: 'AUDIO', tokenCount: b.audioTokens }] : []),
    ],
  };
}

// One chunk (or the whole answer): `parts` so far, a finishReason on the last, usage so far.
function chunk(model: string, parts: unknown[], finish: boolean, usage: unknown) {
  return {
    candidates: [{ content: { parts, role: 'model' }, ...(finish ? { finishReason: 'STOP' } : {}), index: 0 }],
    ...(usage ? { usageMetadata: usage } : {}),
    modelVersion: model,
    responseId: 'mock-gemini-response',
  };
}

export async function answerGemini(req: IncomingMessage, res: ServerResponse, target: { model: string; method: GeminiMethod }, body: Json, asked: MockBehaviour): Promise<void> {
  const cap = obj(body.generationConfig)?.maxOutputTokens;
  const b = asked.fill && typeof cap === 'number' ? { ...asked, chunks: cap } : asked;
  if (b.hang) return;
  await sleep(b.firstDelayMs);
  if (b.status >= 400) {
    const echoed = b.echoCredentials ? `: rejected credentials ${req.headers['x-goog-api-key'] ?? ''}` : '';
    res.writeHead(b.status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify({ error: { code: b.status, message: `mock upstream error ${b.status}${echoed}`, status: b.status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL' } }));
    return;
  }
  if (target.method === 'countTokens') {
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify({ totalTokens: b.promptTokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: b.promptTokens }] }));
    return;
  }
  const call = functionToCall(body);
  // Each chunk's parts: one text token each, or a single function call.
  const pieces: unknown[][] = call ? [[{ functionCall: { name: call, args: { city: 'Paris' } } }]] : Array.from({ length: b.chunks }, (_, i) => [{ text: token(i) }]);
  const usageAt = (i: number) => (b.noUsage ? undefined : usageMetadata(b, i + 1));
  if (target.method === 'generateContent') {
    const text = JSON.stringify(chunk(target.model, call ? pieces[0]! : [{ text: pieces.map((p) => (p[0] as { text: string }).text).join('') }], true, usageAt(pieces.length - 1)));
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  const sse = new URL(req.url ?? '/', 'http://mock').searchParams.get('alt') === 'sse';
  res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/json; charset=UTF-8' });
  // Google's two framings: `data: {...}\r\n\r\n` events, or a JSON array written element by element.
  if (!sse) res.write('[');
  for (let i = 0; i < pieces.length; i++) {
    if (res.destroyed) return;
    if (i > 0) await sleep(b.delayMs);
    const last = i === pieces.length - 1;
    if (last) await sleep(b.usageDelayMs);
    const json = JSON.stringify(chunk(target.model, pieces[i]!, last, usageAt(i)));
    res.write(sse ? `data: ${json}\r\n\r\n` : `${i > 0 ? ',\r\n' : ''}${json}\n`);
    if (b.hangBody) return;
    if (b.resetAfter > 0 && i + 1 >= b.resetAfter) {
      await sleep(20);
      res.socket?.destroy();
      return;
    }
  }
  res.end(sse ? '' : ']');
}
