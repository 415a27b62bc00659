// Finding 5: metering gaps that gave output without charge. Each test drives a real gateway
// against the mock upstream speaking the real wire format, turned hostile by `[mock …]`
// directives, and reads what was charged from the usage ledger.
import { connect } from 'node:net';
import { sql } from 'drizzle-orm';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
// No budgets: every request is still written to the ledger, which is what these tests read. Its
// retention budget is small, so a long answer cannot all be kept for counting.
let open: TestGateway;
// A clamping daily budget of 5,000 tokens per user.
let budgeted: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  open = await startTestGateway({ mock, overrides: { 'upstream.disconnectDrainMs': 1_500, 'upstream.maxRetainedBytes': 4_096 } });
  budgeted = await startTestGateway({
    mock,
    overrides: { 'budget.clamp': true, 'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 5_000 }] },
  });
  // Two embedded gateways start here; on a loaded machine that outlasts the default hook timeout.
}, 180_000);

afterAll(async () => {
  await open?.close();
  await budgeted?.close();
  await mock?.close();
});

interface Charged {
  n: number;
  prompt: number;
  completion: number;
}

async function charged(gw: TestGateway, userId: string): Promise<Charged> {
  const result = await gw.app.database.db.execute(
    sql`select count(*)::int as n, coalesce(sum(prompt_tokens), 0)::int as prompt, coalesce(sum(completion_tokens), 0)::int as completion from usage_events where user_id = ${userId}`,
  );
  return (result as unknown as { rows: Charged[] }).rows[0]!;
}

async function chargedOnce(gw: TestGateway, userId: string): Promise<Charged> {
  await expect.poll(async () => (await charged(gw, userId)).n, { timeout: 10_000 }).toBe(1);
  return charged(gw, userId);
}

const post = (gw: TestGateway, key: string, path: string, body: object, signal?: AbortSignal) =>
  request(`${gw.url}${path}`, {
    method: 'POST',
    ...(signal ? { signal } : {}),
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('metering gaps', () => {
  it('an Anthropic stream cut before message_delta is charged for what it delivered, not for message_start', async () => {
    const ann = await open.newKey({ user: 'cut-ann' });
    const res = await request(`${open.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': ann.key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 1_000, stream: true, messages: [{ role: 'user', content: '[mock chunks=200 reset_after=199]' }] }),
    });
    let delivered = 0;
    try {
      for await (const chunk of res.body) delivered += (chunk as Buffer).toString().split('text_delta').length - 1;
    } catch {
      // The upstream reset reaches the client as a cut connection.
    }
    expect(delivered).toBe(199);
    const row = await chargedOnce(open, ann.userId);
    // message_start said output_tokens: 1; 199 deltas of "tokN " went out.
    expect(row.completion).toBeGreaterThanOrEqual(199);
    expect(row.prompt).toBeGreaterThanOrEqual(10);
  });

  it('a client that leaves a reasoning model before the usage chunk is charged the usage the provider reports', async () => {
    const rob = await open.newKey({ user: 'reason-rob' });
    const controller = new AbortController();
    const res = await post(open, rob.key, '/v1/chat/completions', {
      model: 'o4-mini', stream: true, max_completion_tokens: 60_000,
      messages: [{ role: 'user', content: '[mock chunks=3 usage_delay_ms=300 completion_tokens=50000 reasoning_tokens=49997]' }],
    }, controller.signal);
    let seen = '';
    try {
      for await (const chunk of res.body) {
        seen += (chunk as Buffer).toString();
        // The visible answer is complete; leave before the usage chunk.
        if (seen.includes('"finish_reason":"stop"')) controller.abort();
      }
    } catch {
      // aborted
    }
    const row = await chargedOnce(open, rob.userId);
    expect(row.completion).toBe(50_000);
  });

  it('a client that leaves a reasoning model whose usage never comes is charged the whole reservation', async () => {
    const rae = await open.newKey({ user: 'reason-rae' });
    const controller = new AbortController();
    const res = await post(open, rae.key, '/v1/chat/completions', {
      model: 'o4-mini', stream: true, max_completion_tokens: 60_000,
      messages: [{ role: 'user', content: '[mock chunks=3 usage_delay_ms=10000 completion_tokens=50000]' }],
    }, controller.signal);
    try {
      for await (const chunk of res.body) if ((chunk as Buffer).toString().includes('tok2')) controller.abort();
    } catch {
      // aborted
    }
    const row = await chargedOnce(open, rae.userId);
    expect(row.completion).toBeGreaterThanOrEqual(60_000);
  });

  it('a non-streamed answer over 16 MB is charged the usage at its end', async () => {
    const hugo = await open.newKey({ user: 'huge-hugo' });
    const res = await post(open, hugo.key, '/v1/chat/completions', {
      model: 'gpt-4o-mini', max_tokens: 16_000,
      messages: [{ role: 'user', content: '[mock pad_bytes=17000000 completion_tokens=4000000 prompt_tokens=10]' }],
    });
    expect(res.statusCode).toBe(200);
    const body = await res.body.text();
    expect(body.length).toBeGreaterThan(17_000_000);
    const row = await chargedOnce(open, hugo.userId);
    expect(row).toMatchObject({ prompt: 10, completion: 4_000_000 });
  });

  it('a non-streamed answer over 16 MB without usage is charged the reservation, never the prompt alone', async () => {
    const hana = await open.newKey({ user: 'huge-hana' });
    const res = await post(open, hana.key, '/v1/chat/completions', {
      model: 'gpt-4o-mini', max_tokens: 777,
      messages: [{ role: 'user', content: '[mock pad_bytes=17000000 no_usage]' }],
    });
    await res.body.dump();
    const row = await chargedOnce(open, hana.userId);
    expect(row.completion).toBeGreaterThanOrEqual(777);
  });

  it('a stream without usage longer than the retention budget is charged the reservation, not the part it kept', async () => {
    const lou = await open.newKey({ user: 'long-lou' });
    const res = await post(open, lou.key, '/v1/chat/completions', {
      model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, max_tokens: 16_000,
      messages: [{ role: 'user', content: '[mock chunks=1000 no_usage]' }],
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    const row = await chargedOnce(open, lou.userId);
    // About 3,000 tokens were delivered; only the first 4 KB of them could be kept.
    expect(row.completion).toBeGreaterThanOrEqual(16_000);
  });

  it('a stream event past the splitter cap, without usage, is charged the reservation, not the text around it', async () => {
    const hugo = await open.newKey({ user: 'huge-event-hugo' });
    const res = await post(open, hugo.key, '/v1/chat/completions', {
      model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, max_tokens: 3_000,
      messages: [{ role: 'user', content: '[mock chunks=5 pad_bytes=2000000 no_usage]' }],
    });
    expect(res.statusCode).toBe(200);
    expect((await res.body.text()).length).toBeGreaterThan(2_000_000);
    const row = await chargedOnce(open, hugo.userId);
    expect(row.completion).toBeGreaterThanOrEqual(3_000);
  });

  it('a background response cannot be started while budgets apply', async () => {
    const bea = await budgeted.newKey({ user: 'bg-bea' });
    const res = await post(budgeted, bea.key, '/v1/responses', { model: 'gpt-4o-mini', background: true, input: 'write a novel' });
    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toMatchObject({ error: { code: 'background_unmetered', type: 'invalid_request_error', param: 'background' } });
    expect(mock.requests.some((r) => r.body?.background === true)).toBe(false);
  });

  it('n choices are reserved and clamped per choice, so n x max_tokens cannot pass the budget', async () => {
    const nia = await budgeted.newKey({ user: 'n-nia' });
    const res = await post(budgeted, nia.key, '/v1/chat/completions', {
      model: 'gpt-4o-mini', n: 50, max_tokens: 1_000,
      messages: [{ role: 'user', content: '[mock fill prompt_tokens=10]' }],
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    const sent = mock.requests.at(-1)!.body!;
    expect(Number(sent.max_tokens) * 50).toBeLessThanOrEqual(5_000);
    const row = await chargedOnce(budgeted, nia.userId);
    expect(row.prompt + row.completion).toBeLessThanOrEqual(5_000);
  });

  it('best_of choices are reserved and clamped per choice on the completions API', async () => {
    const bo = await budgeted.newKey({ user: 'bestof-bo' });
    const res = await post(budgeted, bo.key, '/v1/completions', { model: 'gpt-3.5-turbo-instruct', best_of: 20, max_tokens: 1_000, prompt: '[mock fill prompt_tokens=10]' });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(Number(mock.requests.at(-1)!.body!.max_tokens) * 20).toBeLessThanOrEqual(5_000);
    const row = await chargedOnce(budgeted, bo.userId);
    expect(row.prompt + row.completion).toBeLessThanOrEqual(5_000);
  });

  it('max_tokens sent beside a small max_completion_tokens is reserved and clamped too', async () => {
    const max = await budgeted.newKey({ user: 'pair-max' });
    const res = await post(budgeted, max.key, '/v1/chat/completions', {
      model: 'gpt-4o-mini', max_completion_tokens: 10, max_tokens: 100_000,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    const sent = mock.requests.at(-1)!.body!;
    expect(Number(sent.max_tokens)).toBeLessThanOrEqual(5_000);
    expect(Number(sent.max_completion_tokens)).toBeLessThanOrEqual(5_000);
  });

  it('a client gone before the first upstream byte is still charged the prompt the provider received', async () => {
    const gus = await open.newKey({ user: 'gone-gus' });
    const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'a prompt the provider reads in full [mock first_delay_ms=2500]' }] });
    const { hostname, port } = new URL(open.url);
    const socket = connect(Number(port), hostname);
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${gus.key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await expect.poll(() => mock.requests.some((r) => JSON.stringify(r.body).includes('provider reads in full')), { timeout: 2_000 }).toBe(true);
    socket.destroy();
    const row = await chargedOnce(open, gus.userId);
    expect(row.prompt).toBeGreaterThan(0);
  });
});
