// A mock OpenAI + Anthropic (+ Gemini: bench/mock-gemini.ts) upstream for tests and benchmarks. Behaviour comes from the server's
// options, overridden per request by a directive anywhere in the request body, e.g.
//   "[mock chunks=5 delay_ms=200 status=429 prompt_tokens=12 no_usage hang hang_body reset_after=2]"
// Hostile directives for the security suite: usage_delay_ms (hold the usage-bearing event back),
// completion_tokens (reported output, reasoning included), pad_bytes (a huge non-streamed body with
// usage last, or a huge first stream event), fill (one token per allowed output token, per choice) and echo_credentials (an
// error body that quotes the credential headers it received). `n` and `best_of` give that many
// choices on non-streamed chat and completions; `background: true` answers a queued response.
// Media endpoints (images, audio, moderations) answer from bench/mock-upstream-media.ts; Azure OpenAI
// deployment paths (/openai/deployments/{deployment}/chat/completions?api-version=…) as the OpenAI ones.
// Run standalone: node --import ./bin/typescript.js bench/mock-upstream.ts [port]
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { answerMedia, isMediaPath } from './mock-upstream-media.js';
import { answerGemini, geminiRoute } from './mock-gemini.js';
import { anthropicToolToCall, toolUseBlock, toolUseEvents } from './mock-tool-calls.js';

export interface MockBehaviour {
  chunks: number;
  delayMs: number;
  // First-chunk delay: holds the stream open before any content.
  firstDelayMs: number;
  status: number;
  promptTokens: number;
  cachedTokens: number;
  // Of promptTokens, how many were audio (Gemini's promptTokensDetails).
  audioTokens: number;
  reasoningTokens: number;
  noUsage: boolean;
  // Never send response headers.
  hang: boolean;
  // Send headers (and for streams one chunk), then go silent.
  hangBody: boolean;
  // Destroy the socket after this many stream chunks (0 = never).
  resetAfter: number;
  // Delay before the event that carries usage (the last chunk, response.completed, message_delta).
  usageDelayMs: number;
  // Reported completion tokens (reasoning included); -1 = one per chunk and choice.
  completionTokens: number;
  // Extra bytes of text in a non-streamed answer, before its usage.
  padBytes: number;
  // Produce as many tokens per choice as the request's output cap allows.
  fill: boolean;
  // Quote the received credential headers in the error body.
  echoCredentials: boolean;
  // The service_tier the answer reports; '' = the requested flex or priority, else default.
  servedTier: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | undefined;
  // The bytes as received (multipart uploads are not JSON).
  raw?: Buffer;
}

export interface MockUpstream {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  // Requests whose client went away before the mock finished answering.
  readonly aborted: RecordedRequest[];
  defaults: MockBehaviour;
  close(): Promise<void>;
}

export const defaultBehaviour: MockBehaviour = {
  chunks: 3,
  delayMs: 0,
  firstDelayMs: 0,
  status: 200,
  promptTokens: 10,
  cachedTokens: 0,
  audioTokens: 0,
  reasoningTokens: 0,
  noUsage: false,
  hang: false,
  hangBody: false,
  resetAfter: 0,
  usageDelayMs: 0,
  completionTokens: -1,
  padBytes: 0,
  fill: false,
  echoCredentials: false,
  servedTier: '',
};

const directive = /\[mock([^\]]*)\]/;

export function behaviourFor(bodyText: string, defaults: MockBehaviour): MockBehaviour {
  const match = directive.exec(bodyText);
  if (!match) return defaults;
  const b: MockBehaviour = { ...defaults };
  for (const token of match[1]!.trim().split(/\s+/).filter(Boolean)) {
    const [key, value] = token.split('=') as [string, string | undefined];
    const n = Number(value);
    switch (key) {
      case 'chunks': b.chunks = n; break;
      case 'delay_ms': b.delayMs = n; break;
      case 'first_delay_ms': b.firstDelayMs = n; break;
      case 'status': b.status = n; break;
      case 'prompt_tokens': b.promptTokens = n; break;
      case 'cached_tokens': b.cachedTokens = n; break;
      case 'audio_tokens': b.audioTokens = n; break;
      case 'reasoning_tokens': b.reasoningTokens = n; break;
      case 'no_usage': b.noUsage = true; break;
      case 'hang': b.hang = true; break;
      case 'hang_body': b.hangBody = true; break;
      case 'reset_after': b.resetAfter = n; break;
      case 'usage_delay_ms': b.usageDelayMs = n; break;
      case 'completion_tokens': b.completionTokens = n; break;
      case 'pad_bytes': b.padBytes = n; break;
      case 'fill': b.fill = true; break;
      case 'echo_credentials': b.echoCredentials = true; break;
      case 'served_tier': b.servedTier = value ?? ''; break;
    }
  }
  return b;
}

export const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

// Each streamed chunk is one token: "tok0 ", "tok1 ", …
export const token = (i: number) => `tok${i} `;

type Shape = 'chat' | 'completions' | 'embeddings' | 'responses' | 'messages';
const shapes: Record<string, Shape> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
  '/v1/responses': 'responses',
  '/v1/messages': 'messages',
};

// Azure OpenAI's data-plane paths: /openai/deployments/{deployment}/chat/completions?api-version=…
// (also completions and embeddings). As Azure does, a request without api-version is a 404 and one
// without the api-key header a 401; the answer names the deployment's model.
const azurePath = /^\/openai\/deployments\/([^/]+)(\/chat\/completions|\/completions|\/embeddings)$/;

function azureRoute(req: IncomingMessage, path: string): { shape: Shape; deployment: string } | { status: number; message: string } | undefined {
  const match = azurePath.exec(path);
  if (!match) return undefined;
  if (!new URL(req.url ?? '/', 'http://mock').searchParams.get('api-version')) return { status: 404, message: 'Resource not found' };
  if (typeof req.headers['api-key'] !== 'string') return { status: 401, message: 'Access denied due to invalid subscription key or wrong API endpoint.' };
  return { shape: shapes[`/v1${match[2]!}`]!, deployment: decodeURIComponent(match[1]!) };
}

function errorBody(shape: Shape, status: number, echoed: string): unknown {
  const message = `mock upstream error ${status}${echoed}`;
  if (shape === 'messages') return { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message } };
  return { error: { message, type: status === 429 ? 'rate_limit_error' : 'server_error', param: null, code: `mock_${status}` } };
}

// What OpenAI reports in service_tier: the tier asked for when it has capacity, default otherwise.
const servedTier = (b: MockBehaviour, body: Record<string, unknown>): string =>
  b.servedTier || (body.service_tier === 'flex' || body.service_tier === 'priority' ? body.service_tier : 'default');

const reported = (b: MockBehaviour, completion: number) => (b.completionTokens >= 0 ? b.completionTokens : completion);

function openaiUsage(b: MockBehaviour, produced: number) {
  const completion = reported(b, produced);
  return {
    prompt_tokens: b.promptTokens,
    completion_tokens: completion,
    total_tokens: b.promptTokens + completion,
    prompt_tokens_details: { cached_tokens: b.cachedTokens },
    completion_tokens_details: { reasoning_tokens: b.reasoningTokens },
  };
}

function responsesUsage(b: MockBehaviour, produced: number) {
  const completion = reported(b, produced);
  return {
    input_tokens: b.promptTokens,
    input_tokens_details: { cached_tokens: b.cachedTokens },
    output_tokens: completion,
    output_tokens_details: { reasoning_tokens: b.reasoningTokens },
    total_tokens: b.promptTokens + completion,
  };
}

function anthropicUsage(b: MockBehaviour, completion: number) {
  return { input_tokens: b.promptTokens - b.cachedTokens, cache_read_input_tokens: b.cachedTokens, cache_creation_input_tokens: 0, output_tokens: completion };
}

// The OpenAI SDK asks for base64 (little-endian float32) by default and decodes it itself.
const embedding = (format: unknown): number[] | string =>
  format === 'base64' ? Buffer.from(new Float32Array([0.1, 0.2, 0.3]).buffer).toString('base64') : [0.1, 0.2, 0.3];

const count = (value: unknown): number => (typeof value === 'number' && value > 0 ? value : 1);

function fullBody(shape: Shape, model: string, b: MockBehaviour, body: Record<string, unknown>): unknown {
  const text = Array.from({ length: b.chunks }, (_, i) => token(i)).join('') + 'x'.repeat(b.padBytes);
  const created = 1_700_000_000;
  const choices = Math.max(count(body.n), count(body.best_of));
  switch (shape) {
    case 'chat':
      return {
        id: 'chatcmpl-mock', object: 'chat.completion', created, model, service_tier: servedTier(b, body),
        choices: Array.from({ length: choices }, (_, index) => ({ index, message: { role: 'assistant', content: text, refusal: null }, finish_reason: 'stop', logprobs: null })),
        ...(b.noUsage ? {} : { usage: openaiUsage(b, b.chunks * choices) }),
      };
    case 'completions':
      return {
        id: 'cmpl-mock', object: 'text_completion', created, model,
        choices: Array.from({ length: choices }, (_, index) => ({ index, text, finish_reason: 'stop', logprobs: null })),
        ...(b.noUsage ? {} : { usage: openaiUsage(b, b.chunks * choices) }),
      };
    case 'embeddings':
      return { object: 'list', model, data: [{ object: 'embedding', index: 0, embedding: embedding(body.encoding_format) }], usage: { prompt_tokens: b.promptTokens, total_tokens: b.promptTokens } };
    case 'responses':
      if (body.background === true) return responseObject(model, '', 'queued', null, servedTier(b, body));
      return responseObject(model, text, 'completed', b.noUsage ? null : responsesUsage(b, b.chunks), servedTier(b, body));
    case 'messages': {
      // Declared tools are called (bench/mock-tool-calls.ts).
      const call = anthropicToolToCall(body);
      return {
        id: 'msg_mock', type: 'message', role: 'assistant', model, stop_reason: call ? 'tool_use' : 'end_turn', stop_sequence: null,
        content: call ? [toolUseBlock(call)] : [{ type: 'text', text }],
        usage: anthropicUsage(b, reported(b, b.chunks)),
      };
    }
  }
}

function responseObject(model: string, text: string, status: string, usage: unknown, serviceTier: string) {
  return {
    id: 'resp_mock', object: 'response', created_at: 1_700_000_000, status, model, service_tier: serviceTier,
    output: status === 'completed' ? [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }] : [],
    usage,
  };
}

const sse = (data: unknown, event?: string) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

// The events of a streamed answer, in order; `i` is the content chunk index or -1 for framing.
function* streamEvents(shape: Shape, model: string, b: MockBehaviour, body: Record<string, unknown>): Generator<{ text: string; content: boolean; usage?: true }> {
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const created = 1_700_000_000;
  const tier = servedTier(b, body);
  if (shape === 'chat' || shape === 'completions') {
    const usageField = { ...(shape === 'chat' ? { service_tier: tier } : {}), ...(includeUsage ? { usage: null } : {}) };
    for (let i = 0; i < b.chunks; i++) {
      // pad_bytes makes the first chunk one huge event.
      const content = i === 0 ? token(i) + 'x'.repeat(b.padBytes) : token(i);
      const choice = shape === 'chat' ? { index: 0, delta: i === 0 ? { role: 'assistant', content } : { content }, finish_reason: null } : { index: 0, text: content, finish_reason: null };
      yield { text: sse({ id: 'chatcmpl-mock', object: shape === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model, choices: [choice], ...usageField }), content: true };
    }
    const last = shape === 'chat' ? { index: 0, delta: {}, finish_reason: 'stop' } : { index: 0, text: '', finish_reason: 'stop' };
    yield { text: sse({ id: 'chatcmpl-mock', object: shape === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model, choices: [last], ...usageField }), content: false };
    if (includeUsage && !b.noUsage) {
      yield { text: sse({ id: 'chatcmpl-mock', object: shape === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model, ...(shape === 'chat' ? { service_tier: tier } : {}), choices: [], usage: openaiUsage(b, b.chunks) }), content: false, usage: true };
    }
    yield { text: sse('[DONE]'), content: false };
  } else if (shape === 'responses') {
    yield { text: sse({ type: 'response.created', sequence_number: 0, response: responseObject(model, '', 'in_progress', null, body.service_tier === undefined ? 'auto' : String(body.service_tier)) }, 'response.created'), content: false };
    for (let i = 0; i < b.chunks; i++) {
      yield { text: sse({ type: 'response.output_text.delta', sequence_number: i + 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: token(i), logprobs: [] }, 'response.output_text.delta'), content: true };
    }
    const text = Array.from({ length: b.chunks }, (_, i) => token(i)).join('');
    yield { text: sse({ type: 'response.completed', sequence_number: b.chunks + 1, response: responseObject(model, text, 'completed', b.noUsage ? null : responsesUsage(b, b.chunks), tier) }, 'response.completed'), content: false, usage: true };
  } else if (shape === 'messages') {
    const usage = anthropicUsage(b, 1);
    yield { text: sse({ type: 'message_start', message: { id: 'msg_mock', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage } }, 'message_start'), content: false };
    const call = anthropicToolToCall(body);
    if (call) {
      for (const [event, data] of toolUseEvents(call, 0)) yield { text: sse(data, event), content: event === 'content_block_delta' };
      yield { text: sse({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: reported(b, 2) } }, 'message_delta'), content: false, usage: true };
      yield { text: sse({ type: 'message_stop' }, 'message_stop'), content: false };
      return;
    }
    yield { text: sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'), content: false };
    for (let i = 0; i < b.chunks; i++) {
      yield { text: sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: token(i) } }, 'content_block_delta'), content: true };
    }
    yield { text: sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'), content: false };
    yield { text: sse({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: reported(b, b.chunks) } }, 'message_delta'), content: false, usage: true };
    yield { text: sse({ type: 'message_stop' }, 'message_stop'), content: false };
  }
}

async function answer(req: IncomingMessage, res: ServerResponse, mock: MockUpstream, recorded: RecordedRequest, bodyText: string): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  // Images, audio and moderations: bench/mock-upstream-media.ts.
  if (isMediaPath(path) && req.method === 'POST') return answerMedia(req, res, path, recorded.raw!, behaviourFor(bodyText, mock.defaults));
  // Gemini's routes (bench/mock-gemini.ts) name the model in the path.
  const gemini = req.method === 'POST' ? geminiRoute(path) : undefined;
  if (gemini) return answerGemini(req, res, gemini, recorded.body ?? {}, behaviourFor(bodyText, mock.defaults));
  const azure = req.method === 'POST' ? azureRoute(req, path) : undefined;
  if (azure && 'status' in azure) {
    res.writeHead(azure.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: String(azure.status), message: azure.message } }));
    return;
  }
  const shape = azure?.shape ?? shapes[path];
  if (!shape || req.method !== 'POST') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `mock has no route ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } }));
    return;
  }
  const body = recorded.body ?? {};
  const asked = behaviourFor(bodyText, mock.defaults);
  const cap = body.max_completion_tokens ?? body.max_tokens ?? body.max_output_tokens;
  const b = asked.fill && typeof cap === 'number' ? { ...asked, chunks: cap } : asked;
  const model = azure ? `azure:${azure.deployment}` : String(body.model ?? 'unknown');
  if (b.hang) return;
  await sleep(b.firstDelayMs);
  if (b.status >= 400) {
    res.writeHead(b.status, { 'content-type': 'application/json', 'x-request-id': 'req_upstream_mock' });
    const echoed = b.echoCredentials ? `: rejected credentials ${req.headers.authorization ?? ''} ${req.headers['x-api-key'] ?? ''} ${req.headers['api-key'] ?? ''}` : '';
    const text = JSON.stringify(errorBody(shape, b.status, echoed));
    // Split inside the quoted credential, so a redactor looking at one chunk at a time misses it.
    const middle = b.echoCredentials ? text.indexOf('rejected credentials') + 31 : text.length;
    res.write(text.slice(0, middle));
    await sleep(20);
    res.end(text.slice(middle));
    return;
  }
  if (body.stream !== true) {
    const text = JSON.stringify(fullBody(shape, model, b, body));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': 'req_upstream_mock' });
    if (b.hangBody) {
      res.write(text.slice(0, 10));
      return;
    }
    res.end(text);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': 'req_upstream_mock' });
  let contentSent = 0;
  for (const event of streamEvents(shape, model, b, body)) {
    if (res.destroyed) return;
    if (event.content && contentSent > 0) await sleep(b.delayMs);
    if (event.usage) await sleep(b.usageDelayMs);
    res.write(event.text);
    if (event.content) contentSent++;
    if (b.hangBody) return;
    if (b.resetAfter > 0 && contentSent >= b.resetAfter) {
      // Let the chunks already written reach the client before the reset.
      await sleep(20);
      res.socket?.destroy();
      return;
    }
  }
  res.end();
}

// `record: false` keeps memory flat under benchmark load.
export function startMockUpstream(options: { port?: number; defaults?: Partial<MockBehaviour>; record?: boolean } = {}): Promise<MockUpstream> {
  const requests: RecordedRequest[] = [];
  const aborted: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const bodyText = raw.toString('utf8');
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(bodyText) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body, raw };
      if (options.record !== false) requests.push(recorded);
      res.on('close', () => {
        if (!res.writableFinished && options.record !== false) aborted.push(recorded);
      });
      answer(req, res, mock, recorded, bodyText).catch(() => res.destroy());
    });
  });
  // A websocket stand-in (the realtime API): completes the upgrade and echoes what it receives.
  const upgraded = new Set<import('node:stream').Duplex>();
  server.on('upgrade', (req, socket) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    if (options.record !== false) requests.push({ method: 'UPGRADE', path: req.url ?? '/', headers: req.headers, body: undefined });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d));
    socket.on('error', () => socket.destroy());
  });
  server.keepAliveTimeout = 65_000;
  const mock: MockUpstream = {
    url: '',
    port: 0,
    requests,
    aborted,
    defaults: { ...defaultBehaviour, ...options.defaults },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      Object.assign(mock, { port, url: `http://127.0.0.1:${port}` });
      resolve(mock);
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const mock = await startMockUpstream({ port: Number(process.argv[2] ?? 9100), record: false });
  process.stdout.write(`mock upstream on ${mock.url}\n`);
}
