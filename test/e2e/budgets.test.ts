// Budgets enforced through the gateway (embedded twin + PGlite ledger), driven by the SDKs.
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
let gw: TestGateway;

// Mock usage per answer: 10 prompt + 3 completion tokens unless a directive says otherwise.
beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({
    mock,
    overrides: {
      'budget.budgets': [
        { scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 200, timezone: 'Europe/Paris' },
        { scope: 'team', scopeId: '*', metric: 'requests', window: 'hour', limit: 3 },
        { scope: 'user', scopeId: '*', metric: 'costMicros', window: 'month', limit: 1_000_000 },
      ],
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

const clientFor = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const ask = (client: OpenAI, content = 'hi', max_tokens = 20) => client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens, messages: [{ role: 'user', content }] });

async function ledger(userId: string) {
  const result = await gw.app.database.db.execute(
    sql`select count(*)::int as n, coalesce(sum(prompt_tokens + completion_tokens), 0)::int as tokens, coalesce(sum(cost_micros), 0)::int as cost, bool_or(estimated) as estimated from usage_events where user_id = ${userId}`,
  );
  return (result as unknown as { rows: Array<{ n: number; tokens: number; cost: number; estimated: boolean | null }> }).rows[0]!;
}

describe('token budgets', () => {
  it('admits requests until the daily token budget would be exceeded, then answers 429 naming the bucket', async () => {
    const alice = await gw.newKey({ user: 'budget-alice' });
    const client = clientFor(alice.key);
    let admitted = 0;
    let denial: unknown;
    for (let i = 0; i < 30 && !denial; i++) {
      try {
        await ask(client, '[mock prompt_tokens=10 chunks=3]', 40);
        admitted++;
      } catch (err) {
        denial = err;
      }
    }
    // Each request reserves its counted prompt + 40 and settles at 13: the budget of 200 admits
    // requests while used + reservation fits, and never lets the total pass 200.
    expect(admitted).toBeGreaterThan(5);
    expect(denial).toBeInstanceOf(OpenAI.RateLimitError);
    const error = denial as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    expect(error.error).toMatchObject({ code: 'budget_exceeded', type: 'rate_limit_error' });
    expect(error.message).toContain(`user ${alice.userId}: tokens per day`);
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(error.headers?.get('x-ratelimit-limit-tokens')).toBe('200');
    await expect.poll(async () => (await ledger(alice.userId)).n, { timeout: 3_000 }).toBe(admitted);
    const rows = await ledger(alice.userId);
    expect(rows.tokens).toBe(admitted * 13);
    expect(rows.tokens).toBeLessThanOrEqual(200);
    expect(rows.estimated).toBe(false);
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    expect(metrics).toMatch(/tollgate_budget_denials_total\{code="budget_exceeded",scope="user",metric="tokens",window="day"\} [1-9]/);
  });

  it('sends x-ratelimit headers on a successful answer', async () => {
    const bob = await gw.newKey({ user: 'budget-bob' });
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bob.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-ratelimit-limit-tokens']).toBe('200');
    expect(Number(res.headers['x-ratelimit-remaining-tokens'])).toBeLessThan(200);
    expect(res.headers['x-ratelimit-reset-tokens']).toMatch(/^\d+h\d+m\d+s$|^\d+m\d+s$|^\d+s$/);
    expect(res.headers['x-ratelimit-limit-cost-micros']).toBe('1000000');
  });

  it('gives the whole reservation back when the upstream fails', async () => {
    const carol = await gw.newKey({ user: 'budget-carol' });
    const client = clientFor(carol.key);
    for (let i = 0; i < 8; i++) await expect(ask(client, '[mock status=500]', 150)).rejects.toThrow();
    // Eight refused requests charged nothing, so a request reserving most of the budget still fits.
    await expect(ask(client, 'hi', 150)).resolves.toBeDefined();
  });

  it('caps output at the catalog maximum it reserved when the client set no max_tokens', async () => {
    const dave = await gw.newKey({ user: 'budget-dave', team: 'cap-team' });
    await expect(clientFor(dave.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 429 });
    // gpt-4o-mini's catalog cap (16,384) is far above the 200-token budget: refused, not overspent.
  });
});

describe('team budgets', () => {
  it('rejects a request that would exceed the team hourly request budget, whoever on the team sends it', async () => {
    const [a, b] = [await gw.newKey({ user: 'team-a', team: 'small-team' }), await gw.newKey({ user: 'team-b', team: 'small-team' })];
    await ask(clientFor(a.key));
    await ask(clientFor(b.key));
    await ask(clientFor(a.key));
    const err = (await ask(clientFor(b.key)).then(() => undefined, (e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.message).toContain(`team ${a.teamId}: requests per hour`);
  });
});

describe('charging without provider usage', () => {
  it('counts the prompt and the delivered text itself, and marks the event estimated', async () => {
    const erin = await gw.newKey({ user: 'budget-erin' });
    const answer = await ask(clientFor(erin.key), 'count me [mock no_usage chunks=4]', 50);
    expect(answer.usage).toBeUndefined();
    await expect.poll(async () => (await ledger(erin.userId)).n, { timeout: 3_000 }).toBe(1);
    const rows = await ledger(erin.userId);
    expect(rows.estimated).toBe(true);
    // "tok0 tok1 tok2 tok3 " is 8 o200k tokens; the prompt counts at least its text.
    expect(rows.tokens).toBeGreaterThan(8 + 5);
    expect(rows.cost).toBeGreaterThan(0);
  });

  it('charges what was produced when the client disconnects mid-stream', async () => {
    const fay = await gw.newKey({ user: 'budget-fay' });
    const controller = new AbortController();
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { authorization: `Bearer ${fay.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, max_tokens: 100, messages: [{ role: 'user', content: '[mock chunks=40 delay_ms=30]' }] }),
    });
    let seen = 0;
    for await (const chunk of res.body) {
      seen += (chunk as Buffer).toString().split('tok').length - 1;
      if (seen >= 2) {
        controller.abort();
        break;
      }
    }
    await expect.poll(async () => (await ledger(fay.userId)).n, { timeout: 3_000 }).toBe(1);
    const rows = await ledger(fay.userId);
    expect(rows.estimated).toBe(true);
    // Charged for a few delivered chunks, not for the 40 the upstream would have sent.
    expect(rows.tokens).toBeLessThan(60);
  });
});

describe('clamp', () => {
  it('lowers max_tokens to what the budget has left instead of refusing', async () => {
    const clampMock = await startMockUpstream();
    const clamped = await startTestGateway({
      mock: clampMock,
      overrides: { 'budget.clamp': true, 'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 100 }] },
    });
    try {
      const client = clientFor(clamped.key).withOptions({ baseURL: `${clamped.url}/v1` });
      await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 1_000, messages: [{ role: 'user', content: 'hi [mock chunks=3 prompt_tokens=10]' }] });
      const sent = clampMock.requests.at(-1)!.body!;
      const first = Number(sent.max_tokens);
      expect(first).toBeLessThan(100);
      expect(first).toBeGreaterThan(70);
      // 13 tokens are now spent: the next cap is lower by exactly that.
      await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 1_000, messages: [{ role: 'user', content: 'hi [mock chunks=3 prompt_tokens=10]' }] });
      expect(Number(clampMock.requests.at(-1)!.body!.max_tokens)).toBe(first - 13);
    } finally {
      await clamped.close();
      await clampMock.close();
    }
  });
});

describe('GET /v1/usage', () => {
  it("shows the caller's standing against every budget that applies, today's totals and the session's", async () => {
    const gina = await gw.newKey({ user: 'usage-gina', team: 'usage-team' });
    const client = clientFor(gina.key).withOptions({ defaultHeaders: { 'x-session-id': 'sess-42' } });
    await ask(client, '[mock prompt_tokens=10 chunks=3]', 20);
    await ask(client, '[mock prompt_tokens=10 chunks=3]', 20);
    await expect.poll(async () => (await ledger(gina.userId)).n, { timeout: 3_000 }).toBe(2);

    const res = await request(`${gw.url}/v1/usage`, { headers: { authorization: `Bearer ${gina.key}`, 'x-session-id': 'sess-42' } });
    expect(res.statusCode).toBe(200);
    const status = (await res.body.json()) as { budgets: Array<Record<string, unknown>>; today: Record<string, unknown>; session: Record<string, unknown> };
    expect(status.budgets).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ scope: 'user', scope_id: gina.userId, metric: 'tokens', window: 'day', limit: 200, used: 26, reserved: 0, remaining: 174, percent: 13 }),
        expect.objectContaining({ scope: 'team', scope_id: gina.teamId, metric: 'requests', window: 'hour', limit: 3, used: 2, remaining: 1 }),
        expect.objectContaining({ scope: 'user', metric: 'costMicros', window: 'month', limit: 1_000_000 }),
      ]),
    );
    const daily = status.budgets.find((b) => b.window === 'day')!;
    expect(Date.parse(String(daily.resets_at))).toBeGreaterThan(Date.now());
    expect(status.today).toMatchObject({ requests: 2, tokens: 26 });
    expect(Number(status.today.cost_micros)).toBeGreaterThan(0);
    expect(status.session).toMatchObject({ id: 'sess-42', requests: 2, tokens: 26 });
  });

  it('needs a key', async () => {
    const res = await request(`${gw.url}/v1/usage`);
    expect(res.statusCode).toBe(401);
    await res.body.dump();
  });
});
