// Gemini's native API through the gateway, driven by Google's own SDK (@google/genai 2.x) and by
// raw requests for what the SDK never sends (the streamed JSON array, the key in the query).
import { ApiError, GoogleGenAI } from '@google/genai';
import { sql } from 'drizzle-orm';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../security/raw-http.js';

let mock: MockUpstream;
let gw: TestGateway;
let genai: GoogleGenAI;

// Every user may spend 2,000 tokens a day: a request that leaves maxOutputTokens to the model
// (gemini-2.5-flash: 65,536) cannot fit, one capped at 50 can.
beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({
    mock,
    env: { GEMINI_BASE_URL: mock.url, GEMINI_API_KEY: 'upstream-gemini-key' },
    overrides: { 'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 2_000 }] },
  });
  genai = new GoogleGenAI({ apiKey: gw.key, httpOptions: { baseUrl: gw.url } });
}, 240_000);

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

const lastRequest = () => mock.requests.at(-1)!;
const capped = { maxOutputTokens: 50 };

async function ledgerRow(userId: string) {
  const result = await gw.app.database.db.execute(
    sql`select provider, model, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cost_micros, stream, status from usage_events where user_id = ${userId} order by time desc limit 1`,
  );
  return (result as unknown as { rows: Array<Record<string, unknown>> }).rows[0];
}

async function userClient(user: string) {
  const created = await gw.newKey({ user });
  return { created, client: new GoogleGenAI({ apiKey: created.key, httpOptions: { baseUrl: gw.url } }) };
}

describe('@google/genai through the gateway', () => {
  it('answers generateContent with the upstream Gemini key, never the Tollgate key, and charges the real usage', async () => {
    const { created, client } = await userClient('gemini-ann');
    const answer = await client.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi [mock chunks=4 prompt_tokens=12 reasoning_tokens=5]', config: capped });
    expect(answer.text).toBe('tok0 tok1 tok2 tok3 ');
    expect(answer.usageMetadata).toMatchObject({ promptTokenCount: 12, candidatesTokenCount: 4, thoughtsTokenCount: 5 });
    const upstream = lastRequest();
    expect(upstream.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(upstream.headers['x-goog-api-key']).toBe('upstream-gemini-key');
    expect(JSON.stringify(upstream.headers)).not.toContain(created.key);
    // 12 input at $0.30/M + (4 + 5 thinking) output at $2.50/M = 26.1 micro-USD, rounded up.
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({
      provider: 'gemini', model: 'gemini-2.5-flash', prompt_tokens: 12, completion_tokens: 9, reasoning_tokens: 5, cost_micros: 27, status: 200,
    });
  });

  it('charges the audio part of a prompt at the audio price', async () => {
    const { created, client } = await userClient('gemini-audio');
    await client.models.generateContent({ model: 'gemini-2.5-flash', contents: 'transcribe [mock chunks=2 prompt_tokens=3000 audio_tokens=2000]', config: capped });
    // 1000 text at $0.30/M + 2000 audio at $1.00/M + 2 output at $2.50/M = 2305 micro-USD.
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ prompt_tokens: 3000, completion_tokens: 2, cost_micros: 2305, status: 200 });
  });

  it('streams generateContentStream (alt=sse) and charges the final chunk’s usage', async () => {
    const { created, client } = await userClient('gemini-ben');
    const stream = await client.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi [mock chunks=5 prompt_tokens=7]', config: capped });
    const texts: string[] = [];
    let usage;
    for await (const chunk of stream) {
      texts.push(chunk.text ?? '');
      usage = chunk.usageMetadata;
    }
    expect(texts.join('')).toBe('tok0 tok1 tok2 tok3 tok4 ');
    expect(usage).toMatchObject({ promptTokenCount: 7, candidatesTokenCount: 5 });
    expect(lastRequest().path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ provider: 'gemini', prompt_tokens: 7, completion_tokens: 5, stream: true });
  });

  it('counts tokens at the gateway, free and without calling upstream', async () => {
    const before = mock.requests.length;
    const counted = await genai.models.countTokens({ model: 'gemini-2.5-pro', contents: 'How many tokens is this sentence, roughly?' });
    expect(counted.totalTokens).toBeGreaterThan(5);
    expect(counted.totalTokens).toBeLessThan(40);
    expect(mock.requests.length).toBe(before);
  });

  it('refuses a request the budget cannot cover before anything reaches the upstream', async () => {
    const { client } = await userClient('gemini-cat');
    const before = mock.requests.length;
    const refused = await client.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(429);
    expect(JSON.parse((refused as ApiError).message)).toMatchObject({
      error: { code: 429, status: 'RESOURCE_EXHAUSTED', details: [{ reason: 'budget_exceeded', domain: 'tollgate' }] },
    });
    expect(mock.requests.length).toBe(before);
  });
});

describe('Gemini wire details the SDK does not exercise', () => {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    request(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('relays the default streamed JSON array and charges its last chunk’s usage', async () => {
    const { created } = await userClient('gemini-eve');
    const res = await post('/v1beta/models/gemini-2.5-flash-lite:streamGenerateContent', { contents: [{ role: 'user', parts: [{ text: 'hi [mock chunks=3 prompt_tokens=9]' }] }], generationConfig: capped }, { 'x-goog-api-key': created.key });
    expect(res.statusCode).toBe(200);
    const chunks = (await res.body.json()) as Array<{ candidates: Array<{ content: { parts: Array<{ text: string }> } }> }>;
    expect(chunks.map((c) => c.candidates[0]!.content.parts[0]!.text).join('')).toBe('tok0 tok1 tok2 ');
    expect(lastRequest().path).toBe('/v1beta/models/gemini-2.5-flash-lite:streamGenerateContent');
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ model: 'gemini-2.5-flash-lite', prompt_tokens: 9, completion_tokens: 3 });
  });

  it('takes the Tollgate key from ?key= and never forwards it: the upstream gets the configured key only', async () => {
    const { created } = await userClient('gemini-fin');
    const res = await post(`/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=${created.key}`, { contents: [{ parts: [{ text: 'hi' }] }], generationConfig: capped });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const upstream = lastRequest();
    expect(upstream.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(upstream.headers['x-goog-api-key']).toBe('upstream-gemini-key');
    expect(JSON.stringify(upstream)).not.toContain(created.key);
  });

  it('does not echo a query-string key in an error message', async () => {
    const { created } = await userClient('gemini-gus');
    const res = await post(`/v1beta/models/gpt-4o-mini:generateContent?key=${created.key}`, { contents: [{ parts: [{ text: 'hi' }] }] });
    expect(res.statusCode).toBe(400);
    const text = await res.body.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', details: [{ reason: 'invalid_request' }] } });
    expect(text).not.toContain(created.key);
  });

  it('refuses the snake_case and string spellings Google would accept but the reservation would miss', async () => {
    const before = mock.requests.length;
    for (const body of [
      { contents: [{ parts: [{ text: 'hi' }] }], generation_config: { max_output_tokens: 100000 } },
      { contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { candidate_count: 8 } },
      { contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { candidateCount: '8' } },
      { contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: '100000' } },
    ]) {
      const res = await post('/v1beta/models/gemini-2.5-flash:generateContent', body, { 'x-goog-api-key': gw.key });
      expect(res.statusCode).toBe(400);
      expect(await res.body.json()).toMatchObject({ error: { details: [{ reason: 'invalid_request' }] } });
    }
    expect(mock.requests.length).toBe(before);
  });

  it('reserves for every candidate of candidateCount', async () => {
    const { client } = await userClient('gemini-hal');
    const before = mock.requests.length;
    // 50 tokens x 50 candidates cannot fit a 2,000-token budget.
    const refused = await client.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { maxOutputTokens: 50, candidateCount: 50 } }).catch((e: unknown) => e);
    expect((refused as ApiError).status).toBe(429);
    expect(mock.requests.length).toBe(before);
  });
});

describe('a Gemini path names its model strictly', () => {
  it.each([
    ['/v1beta/models/Gemini-2.5-Flash:generateContent', 404, 'route_not_found'],
    ['/v1beta/models/gemini-2.5-flash:generateContent/', 404, 'route_not_found'],
    ['/v1beta/models/gemini-2.5-flash:generatecontent', 404, 'route_not_found'],
    ['/v1beta/models/a:b:generateContent', 404, 'route_not_found'],
    ['/v1beta/models/.hidden:generateContent', 404, 'route_not_found'],
    ['/v1beta/models/x/../gemini-2.5-flash:generateContent', 400, 'invalid_path'],
    ['/v1beta/models/gemini-2.5-flash%2e:generateContent', 400, 'invalid_path'],
    ['/v1beta/models/gemini%2f2.5:generateContent', 400, 'invalid_path'],
    ['/v1beta/models/{model}:generateContent', 400, 'invalid_request'],
  ])('POST %s is refused (%i %s) and never sent upstream', async (target, status, code) => {
    const before = mock.requests.length;
    const res = await rawRequest(gw.url, 'POST', target, { 'x-goog-api-key': gw.key, 'content-type': 'application/json' }, JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }));
    expect(res.status).toBe(status);
    expect(JSON.stringify(res.json)).toContain(code);
    expect(mock.requests.length).toBe(before);
  });
});
