// Property-based fuzzing of the data plane (issue 10): hostile bodies, request targets and headers
// against one real embedded gateway and an upstream this suite controls. Properties: no input
// gets a 500 or crashes the process (/health still answers), every error the gateway makes itself
// is catalogued, in the provider's shape and carries x-request-id, and the ledger never charges
// less than the upstream reported producing, whatever the path spelling or stream framing.
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { anyTarget, authorization, type HeaderList, hostileTarget, meteredPaths, nearlyValidBody, otherHeaders, requestBody } from './support/arbitraries.js';
import { type Dialect, gatewayAnswerProblem } from './support/error-shape.js';
import { defaultScript, type HostileUpstream, type Kind, startHostileUpstream, type UpstreamScript } from './support/hostile-upstream.js';
import { rawExchange, rawRequest, type RawResponse } from './support/raw-http.js';

let upstream: HostileUpstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startHostileUpstream();
  gw = await startTestGateway({
    // startTestGateway reads only the upstream's url.
    mock: upstream as unknown as MockUpstream,
    // Settles reach the ledger within a few ms, so each run can read its own row.
    overrides: { 'usage.flushIntervalMs': 10, 'upstream.firstByteTimeoutMs': 5_000, 'upstream.idleTimeoutMs': 5_000 },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

const openaiMetered = new Set<string>(meteredPaths.filter((p) => p !== '/v1/messages'));

// The shape a client of this target asked for: a metered route speaks its provider's dialect,
// anything else follows anthropic-version (as Anthropic's SDK always sends it).
function dialectFor(target: string, headers: HeaderList): Dialect | 'either' {
  const path = target.split('?')[0]!;
  const anthropic = headers.some(([name]) => name === 'anthropic-version');
  if (openaiMetered.has(path)) return anthropic ? 'either' : 'openai';
  // Anthropic's own routes (messages, count_tokens) may answer in its shape without the header.
  if (path === '/v1/messages' || path.startsWith('/v1/messages/')) return anthropic ? 'anthropic' : 'either';
  return anthropic ? 'anthropic' : 'openai';
}

async function healthAnswers(): Promise<void> {
  const res = await request(`${gw.url}/health`);
  await res.body.dump();
  expect(res.statusCode).toBe(200);
}

// The whole per-answer contract: not a 500, and an error made by the gateway (not relayed from
// the upstream, which marks its answers) is catalogued, shaped and carries a request id.
function expectWellFormed(res: RawResponse, target: string, headers: HeaderList): void {
  if (res.headers['x-fuzz-upstream']) {
    expect(res.status, `relayed ${res.status}`).not.toBe(500);
    return;
  }
  expect(gatewayAnswerProblem(res, dialectFor(target, headers))).toBeUndefined();
}

const validBody = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
const runs = (n: number) => ({ numRuns: Number(process.env.FUZZ_RUNS ?? n), interruptAfterTimeLimit: Number(process.env.FUZZ_TIME_MS ?? 20_000) });

describe('hostile input on the metered routes', () => {
  it('a hostile JSON body never gets a 500 or an unshaped error on a metered route', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...meteredPaths, '/v1/messages/count_tokens', '/v1/token_count').chain((target) => fc.tuple(fc.constant(target), fc.oneof(requestBody, nearlyValidBody(target)))),
        fc.boolean(),
        fc.boolean(),
        async ([target, body], anthropicVersion, chunked) => {
          const headers: HeaderList = [['authorization', `Bearer ${gw.key}`], ['content-type', 'application/json'], ...(anthropicVersion ? ([['anthropic-version', '2023-06-01']] as HeaderList) : [])];
          const res = await rawRequest(gw.url, { method: 'POST', target, headers, body, chunked });
          expectWellFormed(res, target, headers);
          await healthAnswers();
        },
      ),
      runs(1000),
    );
  }, 60_000);

  it('a hostile request target never gets a 500 or an unshaped error', async () => {
    await fc.assert(
      fc.asyncProperty(anyTarget, fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), fc.boolean(), async (target, method, anthropicVersion) => {
        const headers: HeaderList = [['authorization', `Bearer ${gw.key}`], ['content-type', 'application/json'], ...(anthropicVersion ? ([['anthropic-version', '2023-06-01']] as HeaderList) : [])];
        const res = await rawRequest(gw.url, { method, target, headers, body: method === 'GET' ? undefined : validBody });
        expectWellFormed(res, target, headers);
        await healthAnswers();
      }),
      runs(250),
    );
  }, 60_000);

  it('hostile headers never get a 500 or an unshaped error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...meteredPaths, '/v1/models', '/v1/usage', '/v1/messages/count_tokens'), authorization(gw.key), otherHeaders, async (target, auth, others) => {
        const headers = [...auth, ...others];
        const res = await rawRequest(gw.url, { method: target === '/v1/models' || target === '/v1/usage' ? 'GET' : 'POST', target, headers, body: target === '/v1/models' || target === '/v1/usage' ? undefined : validBody });
        expectWellFormed(res, target, headers);
        await healthAnswers();
      }),
      runs(250),
    );
  }, 60_000);

  // Framing errors are answered by Node's HTTP parser before any route runs; the client still
  // deserves an error it can read (and a request id to quote).
  it('a request the HTTP parser refuses is still answered with a shaped, catalogued error', async () => {
    const key = () => gw.key;
    const malformed = fc.constantFrom(
      () => `FOO /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key()}\r\ncontent-length: 2\r\n\r\n{}`,
      () => `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key()}\x01\r\ncontent-length: 2\r\n\r\n{}`,
      () => `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization : Bearer ${key()}\r\ncontent-length: 2\r\n\r\n{}`,
      () => `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nno-colon-here\r\ncontent-length: 2\r\n\r\n{}`,
      () => `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key()}\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      () => `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key()}\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}`,
      () => `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key()}\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      () => `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\ncontent-length: 2\r\n\r\n{}`,
      () => `POST /v1/chat/completions\x00 HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}`,
      () => `POST /v1/chat/completions HTTP/9.9\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}`,
      () => `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n{}`,
    );
    await fc.assert(
      fc.asyncProperty(malformed, async (make) => {
        const res = await rawExchange(gw.url, Buffer.from(make(), 'latin1'));
        expect(gatewayAnswerProblem(res, 'openai')).toBeUndefined();
        await healthAnswers();
      }),
      { numRuns: 30 },
    );
  }, 60_000);
});

// ---- charging ----

const modelFor: Record<Kind, string> = {
  chat: 'gpt-4o-mini',
  completions: 'gpt-3.5-turbo-instruct',
  responses: 'gpt-4o-mini',
  embeddings: 'text-embedding-3-small',
  messages: 'claude-haiku-4-5',
};
const pathFor: Record<Kind, string> = { chat: '/v1/chat/completions', completions: '/v1/completions', responses: '/v1/responses', embeddings: '/v1/embeddings', messages: '/v1/messages' };

const meteredCall = fc
  .record({
    kind: fc.constantFrom<Kind>('chat', 'completions', 'responses', 'embeddings', 'messages'),
    stream: fc.option(fc.boolean(), { nil: undefined }),
    n: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    maxTokens: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
    includeUsage: fc.option(fc.boolean(), { nil: undefined }),
    anthropicVersion: fc.boolean(),
  })
  .map((c) => {
    const body: Record<string, unknown> = { model: modelFor[c.kind] };
    if (c.kind === 'chat' || c.kind === 'messages') body.messages = [{ role: 'user', content: 'count these words' }];
    else if (c.kind === 'completions') body.prompt = 'count these words';
    else body.input = 'count these words';
    if (c.stream !== undefined && c.kind !== 'embeddings') body.stream = c.stream;
    if (c.n !== undefined && (c.kind === 'chat' || c.kind === 'completions')) body.n = c.n;
    if (c.maxTokens !== undefined && c.kind !== 'embeddings') body[c.kind === 'responses' ? 'max_output_tokens' : 'max_tokens'] = c.maxTokens;
    if (c.includeUsage !== undefined && c.stream) body.stream_options = { include_usage: c.includeUsage };
    const headers: HeaderList = [['authorization', `Bearer ${gw.key}`], ['content-type', 'application/json']];
    if (c.kind === 'messages' && c.anthropicVersion) headers.push(['anthropic-version', '2023-06-01']);
    return { kind: c.kind, body: JSON.stringify(body), headers };
  });

const reported = fc.record({ input: fc.oneof(fc.nat(4000), fc.integer({ min: 1_000_000, max: 2_000_000_000 })), output: fc.nat(4000), cached: fc.nat(200), cacheWrite: fc.nat(200) });
const script: fc.Arbitrary<UpstreamScript> = fc.record({
  format: fc.constantFrom('asked', 'asked', 'json', 'sse'),
  usage: fc.oneof({ weight: 4, arbitrary: reported }, { weight: 1, arbitrary: fc.constant(null) }),
  placement: fc.constantFrom('final', 'inline', 'cumulative', 'shrinking'),
  choices: fc.integer({ min: 1, max: 3 }),
  words: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }),
  lineEnding: fc.constantFrom('\n', '\r\n'),
  dataPrefix: fc.constantFrom('data: ', 'data:'),
  eventLines: fc.boolean(),
  contentType: fc.constantFrom('text/event-stream', 'text/event-stream; charset=utf-8', 'text/event-stream;charset=UTF-8', 'Text/Event-Stream'),
  splits: fc.array(fc.nat(1500), { maxLength: 6 }),
});

interface LedgerRow {
  charged: number;
  completion: number;
}

async function ledgerRow(requestId: string | undefined): Promise<LedgerRow | undefined> {
  if (!requestId) return undefined;
  const deadline = Date.now() + 1_500;
  for (;;) {
    const result = (await gw.app.database.db.execute(
      sql`select (prompt_tokens + completion_tokens)::float8 as charged, completion_tokens::float8 as completion from usage_events where request_id = ${requestId}`,
    )) as unknown as { rows: LedgerRow[] };
    if (result.rows[0]) return result.rows[0];
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Runs that reached the upstream: a property whose calls never did would prove nothing.
let billedRuns = 0;

// Sends one call as scripted and checks the ledger against what the upstream said it produced.
async function expectCharged(target: string, call: { body: string; headers: HeaderList }, s: UpstreamScript): Promise<void> {
  upstream.script = s;
  const before = upstream.calls.length;
  const res = await rawRequest(gw.url, { method: 'POST', target, headers: call.headers, body: call.body });
  expect(res.status, res.body.slice(0, 200)).not.toBe(500);
  const billed = upstream.calls.slice(before).filter((c) => c.kind !== null && c.status === 200);
  if (billed.length === 0) return;
  billedRuns++;
  const reportedTokens = billed.reduce((sum, c) => sum + c.reportedTokens, 0);
  const row = await ledgerRow(res.headers['x-request-id']);
  const what = `upstream ${billed.map((c) => c.path.slice(0, 80)).join(', ')} reported ${reportedTokens} tokens; gateway answered ${res.status}`;
  expect(row, `${what} and wrote no ledger row`).toBeDefined();
  expect(row!.charged, `${what} and charged ${row!.charged}`).toBeGreaterThanOrEqual(reportedTokens);
  if (billed.every((c) => !c.usageReported) && billed.some((c) => c.deliveredText.length > 0)) {
    expect(row!.completion, `${what} without usage; the delivered text was charged ${row!.completion} output tokens`).toBeGreaterThan(0);
  }
}

describe('charging what the upstream produced', () => {
  it('the ledger charges at least what the upstream reported, on every metered route and stream shape', async () => {
    await fc.assert(
      fc.asyncProperty(meteredCall, script, async (call, s) => expectCharged(pathFor[call.kind], call, s)),
      runs(150),
    );
    expect(billedRuns).toBeGreaterThan(0);
    await healthAnswers();
  }, 60_000);

  it('a call the upstream bills is never left out of the ledger, whatever the spelling of its path', async () => {
    await fc.assert(
      fc.asyncProperty(
        meteredCall.chain((call) => hostileTarget([pathFor[call.kind]]).map((target) => ({ call, target }))),
        async ({ call, target }) => expectCharged(target, call, defaultScript),
      ),
      runs(150),
    );
    await healthAnswers();
  }, 60_000);
});
