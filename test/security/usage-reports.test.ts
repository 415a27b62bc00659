// Issue 10, findings of the metered-route fuzz suite: a JSON value whose own `toString` key broke
// the token counters, a stream whose later, smaller usage report lowered the charge, and an event
// stream whose media type was spelled in another case, so its usage went unread. Each test drives
// a real gateway against an upstream this file scripts and reads the ledger it wrote.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { defaultScript, type HostileUpstream, type Kind, startHostileUpstream, type UpstreamScript } from './support/hostile-upstream.js';
import { rawRequest } from './support/raw-http.js';

let upstream: HostileUpstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startHostileUpstream();
  gw = await startTestGateway({ mock: upstream as unknown as MockUpstream, overrides: { 'usage.flushIntervalMs': 10 } });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

const headers = () => [['authorization', `Bearer ${gw.key}`], ['content-type', 'application/json']] as const;

describe('a counted value that is an object with its own toString key', () => {
  const bodies = {
    'an enum item': {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { p: { type: 'string', enum: [{ toString: 1 }] } } } } }],
    },
    'a content block type': { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: { toString: 1 } }] }] },
    'a parameter type': {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { p: { type: [{ toString: 1 }] } } } } }],
    },
  };

  it.each(Object.entries(bodies))('in %s cannot crash the token counter into a 500', async (_what, body) => {
    const res = await rawRequest(gw.url, { method: 'POST', target: '/v1/token_count', headers: headers(), body: JSON.stringify(body) });
    if (res.status === 200) expect(JSON.parse(res.body)).toMatchObject({ model: 'gpt-4o-mini', prompt_tokens: expect.any(Number) });
    else expect({ status: res.status, body: JSON.parse(res.body) }).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
  });
});

// Anthropic nests content inside blocks (tool_result, document) that the body schema does not
// reach; what is nested there must be counted or refused, never dereferenced blindly.
describe('a nested Anthropic content item that is not a block', () => {
  const nested = [null, 'text', 7, [], { type: 7 }];
  const body = (item: unknown) => ({
    model: 'claude-haiku-4-5',
    max_tokens: 16,
    messages: [
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [item] }, { type: 'document', source: { type: 'content', content: [item] } }] },
    ],
  });

  it.each(nested.map((item) => [JSON.stringify(item), item]))('(%s) cannot crash /v1/messages/count_tokens or /v1/token_count into a 500', async (_what, item) => {
    for (const target of ['/v1/messages/count_tokens', '/v1/token_count']) {
      const res = await rawRequest(gw.url, { method: 'POST', target, headers: headers(), body: JSON.stringify(body(item)) });
      if (res.status === 200) expect(JSON.parse(res.body), target).toMatchObject(target === '/v1/token_count' ? { prompt_tokens: expect.any(Number) } : { input_tokens: expect.any(Number) });
      else expect({ target, status: res.status, body: JSON.parse(res.body) }).toMatchObject({ target, status: 400, body: { error: { code: 'invalid_request' } } });
    }
  });
});

interface LedgerRow {
  prompt: number;
  completion: number;
}

async function ledgerRow(requestId: string | undefined): Promise<LedgerRow> {
  expect(requestId).toBeDefined();
  let row: LedgerRow | undefined;
  await expect
    .poll(async () => {
      const result = (await gw.app.database.db.execute(
        sql`select prompt_tokens::float8 as prompt, completion_tokens::float8 as completion from usage_events where request_id = ${requestId}`,
      )) as unknown as { rows: LedgerRow[] };
      row = result.rows[0];
      return row !== undefined;
    }, { timeout: 5_000 })
    .toBe(true);
  return row!;
}

const calls: Record<Exclude<Kind, 'embeddings'>, { path: string; body: object }> = {
  chat: { path: '/v1/chat/completions', body: { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] } },
  completions: { path: '/v1/completions', body: { model: 'gpt-3.5-turbo-instruct', stream: true, stream_options: { include_usage: true }, prompt: 'hi' } },
  responses: { path: '/v1/responses', body: { model: 'gpt-4o-mini', stream: true, input: 'hi' } },
  messages: { path: '/v1/messages', body: { model: 'claude-haiku-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] } },
};

// Far above anything the gateway would reserve or count for itself, so only the upstream's
// report can account for a charge this large.
const usage = { input: 1_500_000, output: 3_000, cached: 0, cacheWrite: 0 };

async function streamCharged(kind: keyof typeof calls, script: Partial<UpstreamScript>): Promise<LedgerRow> {
  upstream.script = { ...defaultScript, usage, ...script };
  const { path, body } = calls[kind];
  const res = await rawRequest(gw.url, { method: 'POST', target: path, headers: headers(), body: JSON.stringify(body) });
  expect(res.status, res.body.slice(0, 200)).toBe(200);
  return ledgerRow(res.headers['x-request-id']);
}

describe('a later, smaller usage report', () => {
  it.each(Object.keys(calls) as (keyof typeof calls)[])('cannot lower the charge of a %s stream below the full report before it', async (kind) => {
    const row = await streamCharged(kind, { placement: 'shrinking' });
    expect(row).toMatchObject({ prompt: usage.input, completion: usage.output });
  });
});

describe('an event stream whose media type is spelled in another case', () => {
  it.each(['Text/Event-Stream', 'TEXT/EVENT-STREAM ; charset=utf-8'])('is still read for usage when sent as %s', async (contentType) => {
    const row = await streamCharged('chat', { contentType });
    expect(row).toMatchObject({ prompt: usage.input, completion: usage.output });
  });
});
