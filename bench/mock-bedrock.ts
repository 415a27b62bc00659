// A mock Bedrock runtime for tests: POST /model/{modelId}/converse (JSON) and /converse-stream
// (AWS binary event stream: messageStart, contentBlockDelta per token, contentBlockStop,
// messageStop, metadata with usage; payloads carry Bedrock's `p` padding field), with Bedrock's
// error shape (x-amzn-errortype header, {"message"} body). Like AWS, it authenticates every
// request by its SigV4 signature: the signature is recomputed from the request as received with
// the mock's own credentials (service bedrock, its region) and a mismatch is a 403
// InvalidSignatureException, a wrong access key an UnrecognizedClientException.
// The mock upstream's [mock ...] directives apply (bench/mock-upstream.ts), with prompt_tokens as
// Bedrock's inputTokens (the uncached part) and cached_tokens as cacheReadInputTokens; one more,
// cache_write_tokens=N, reports cacheWriteInputTokens. `fill` answers inferenceConfig.maxTokens tokens.
// A request declaring tools whose last message is not a tool result is answered with a toolUse of
// the first tool (input {"city":"Paris"}), as the other mocks do.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { behaviourFor, defaultBehaviour, type MockBehaviour, type RecordedRequest, sleep, token } from './mock-upstream.js';

export interface MockBedrockCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface MockBedrock {
  readonly url: string;
  readonly region: string;
  readonly credentials: MockBedrockCredentials;
  // Requests whose signature verified; refused ones are in `refused`.
  readonly requests: RecordedRequest[];
  readonly refused: Array<RecordedRequest & { reason: string }>;
  close(): Promise<void>;
}

const route = /^\/model\/([^/]+)\/(converse|converse-stream)$/;
const errorNamespace = ':http://internal.amazon.com/coral/com.amazon.bedrock/';
const exceptions: Record<number, string> = { 400: 'ValidationException', 403: 'AccessDeniedException', 404: 'ResourceNotFoundException', 408: 'ModelTimeoutException', 429: 'ThrottlingException', 503: 'ServiceUnavailableException' };

type Json = Record<string, unknown>;
const obj = (value: unknown): Json | undefined => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined);

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  const text = JSON.stringify({ message });
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': `${type}${errorNamespace}`, 'x-amzn-requestid': 'mock-bedrock-request', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// Credential=AKID/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=a;b, Signature=hex
const authorizationPattern = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

// Recomputes the request's signature from what arrived (only the headers it says it signed) and
// compares; undefined when it verifies, else why not.
async function verifySignature(req: IncomingMessage, raw: Buffer, region: string, credentials: MockBedrockCredentials): Promise<{ type: string; message: string } | undefined> {
  const match = authorizationPattern.exec(String(req.headers.authorization ?? ''));
  if (!match) return { type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const [, accessKeyId, , signedRegion, service, signedHeaders, signature] = match;
  if (accessKeyId !== credentials.accessKeyId) return { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  if (signedRegion !== region || service !== 'bedrock') return { type: 'InvalidSignatureException', message: `Credential should be scoped to a valid region and service bedrock, not ${signedRegion}/${service}.` };
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!date) return { type: 'IncompleteSignatureException', message: 'X-Amz-Date is missing or malformed.' };
  const headers: Record<string, string> = {};
  for (const name of signedHeaders!.split(';')) {
    const value = req.headers[name];
    if (typeof value !== 'string') return { type: 'InvalidSignatureException', message: `Signed header ${name} is missing.` };
    headers[name] = value;
  }
  if (!('host' in headers)) return { type: 'InvalidSignatureException', message: 'The host header must be signed.' };
  const signer = new SignatureV4({ service: 'bedrock', region, credentials, sha256: Hash.bind(null, 'sha256') });
  const [pathOnly] = (req.url ?? '/').split('?', 1);
  const signingDate = new Date(Date.UTC(+date[1]!, +date[2]! - 1, +date[3]!, +date[4]!, +date[5]!, +date[6]!));
  const expected = await signer.sign({ method: req.method ?? 'POST', protocol: 'http:', hostname: headers.host!, path: pathOnly!, query: {}, headers, body: raw }, { signingDate });
  const recomputed = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization))?.[1];
  if (recomputed !== signature) return { type: 'InvalidSignatureException', message: 'The request signature we calculated does not match the signature you provided.' };
  return undefined;
}

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);

// One event stream message as Bedrock frames it.
const frame = (eventType: string, payload: Json): Uint8Array =>
  codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: Buffer.from(JSON.stringify({ ...payload, p: 'abcdefghijklmnopqrstuvwxyzABCDEFGH' })),
  });

// The tool to call, when the request declares one and is not already answering a call.
function toolToCall(body: Json): string | undefined {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = obj(messages.at(-1))?.content;
  if (Array.isArray(last) && last.some((block) => obj(block)?.toolResult !== undefined)) return undefined;
  const tools = obj(body.toolConfig)?.tools;
  const name = Array.isArray(tools) ? obj(obj(tools[0])?.toolSpec)?.name : undefined;
  return typeof name === 'string' ? name : undefined;
}

const toolInput = { city: 'Paris' };

function usage(b: MockBehaviour, cacheWriteTokens: number, produced: number) {
  const outputTokens = b.completionTokens >= 0 ? b.completionTokens : produced;
  return {
    inputTokens: b.promptTokens,
    outputTokens,
    totalTokens: b.promptTokens + b.cachedTokens + cacheWriteTokens + outputTokens,
    ...(b.cachedTokens > 0 ? { cacheReadInputTokens: b.cachedTokens } : {}),
    ...(cacheWriteTokens > 0 ? { cacheWriteInputTokens: cacheWriteTokens } : {}),
  };
}

async function answer(res: ServerResponse, operation: string, body: Json, bodyText: string): Promise<void> {
  const asked = behaviourFor(bodyText, defaultBehaviour);
  const cap = obj(body.inferenceConfig)?.maxTokens;
  const b = asked.fill && typeof cap === 'number' ? { ...asked, chunks: cap } : asked;
  const cacheWriteTokens = Number(/cache_write_tokens=(\d+)/.exec(bodyText)?.[1] ?? 0);
  if (b.hang) return;
  await sleep(b.firstDelayMs);
  if (b.status >= 400) {
    sendError(res, b.status, exceptions[b.status] ?? 'InternalServerException', `mock upstream error ${b.status}`);
    return;
  }
  const tokens = Array.from({ length: b.chunks }, (_, i) => token(i));
  const tool = toolToCall(body);
  if (operation === 'converse') {
    const text = JSON.stringify({
      metrics: { latencyMs: 42 },
      output: { message: { content: tool ? [{ toolUse: { toolUseId: 'tooluse_mock', name: tool, input: toolInput } }] : [{ text: tokens.join('') }], role: 'assistant' } },
      stopReason: tool ? 'tool_use' : 'end_turn',
      ...(b.noUsage ? {} : { usage: usage(b, cacheWriteTokens, b.chunks) }),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': 'mock-bedrock-request' });
    res.end(text);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'mock-bedrock-request' });
  res.write(frame('messageStart', { role: 'assistant' }));
  if (tool) {
    res.write(frame('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: 'tooluse_mock', name: tool } } }));
    res.write(frame('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: JSON.stringify(toolInput) } } }));
    res.write(frame('contentBlockStop', { contentBlockIndex: 0 }));
    res.write(frame('messageStop', { stopReason: 'tool_use' }));
    res.end(b.noUsage ? undefined : frame('metadata', { metrics: { latencyMs: 42 }, usage: usage(b, cacheWriteTokens, 2) }));
    return;
  }
  for (let i = 0; i < tokens.length; i++) {
    if (res.destroyed) return;
    if (i > 0) await sleep(b.delayMs);
    res.write(frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: tokens[i] } }));
    if (b.hangBody) return;
    if (b.resetAfter > 0 && i + 1 >= b.resetAfter) {
      await sleep(20);
      res.socket?.destroy();
      return;
    }
  }
  res.write(frame('contentBlockStop', { contentBlockIndex: 0 }));
  res.write(frame('messageStop', { stopReason: 'end_turn' }));
  await sleep(b.usageDelayMs);
  res.end(b.noUsage ? undefined : frame('metadata', { metrics: { latencyMs: 42 }, usage: usage(b, cacheWriteTokens, tokens.length) }));
}

export function startMockBedrock(options: { region?: string; credentials?: MockBedrockCredentials } = {}): Promise<MockBedrock> {
  const region = options.region ?? 'us-east-1';
  const credentials = options.credentials ?? { accessKeyId: 'AKIAMOCKBEDROCK', secretAccessKey: 'mock-bedrock-secret' };
  const requests: RecordedRequest[] = [];
  const refused: Array<RecordedRequest & { reason: string }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks);
        const bodyText = raw.toString('utf8');
        let body: Json | undefined;
        try {
          body = obj(JSON.parse(bodyText));
        } catch {
          body = undefined;
        }
        const recorded: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body, raw };
        const found = req.method === 'POST' ? route.exec(recorded.path) : null;
        if (!found) {
          sendError(res, 404, 'UnknownOperationException', `mock has no route ${req.method} ${recorded.path}`);
          return;
        }
        const failure = await verifySignature(req, raw, region, credentials);
        if (failure) {
          refused.push({ ...recorded, reason: failure.type });
          sendError(res, 403, failure.type, failure.message);
          return;
        }
        requests.push(recorded);
        if (!body) {
          sendError(res, 400, 'SerializationException', 'The request body is not JSON.');
          return;
        }
        await answer(res, found[2]!, body, bodyText);
      })().catch(() => res.destroy());
    });
  });
  const mock = {
    url: '',
    region,
    credentials,
    requests,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      Object.assign(mock, { url: `http://127.0.0.1:${port}` });
      resolve(mock);
    });
  });
}
