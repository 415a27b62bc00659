// The official SDKs pointed at the gateway, with a real Tollgate key, against the mock upstream.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { unusedPool } from '../unit/tokens-fixtures.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({ mock });
  openai = new OpenAI({ apiKey: gw.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: gw.key, baseURL: gw.url, maxRetries: 0 });
});

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

const lastRequest = () => mock.requests.at(-1)!;

describe('OpenAI SDK through the gateway', () => {
  it('answers a chat completion and forwards the provider key, never the Tollgate key', async () => {
    const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBe('tok0 tok1 tok2 ');
    expect(completion.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 3 });
    const upstream = lastRequest();
    expect(upstream.path).toBe('/v1/chat/completions');
    expect(upstream.headers.authorization).toBe('Bearer sk-upstream-openai');
    expect(JSON.stringify(upstream.headers)).not.toContain(gw.key);
  });

  it('streams a chat completion and hides the usage chunk the client did not ask for', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('tok0 tok1 tok2 ');
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
    expect((lastRequest().body?.stream_options as { include_usage: boolean }).include_usage).toBe(true);
  });

  it('keeps the usage chunk when the client asked for it', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi [mock chunks=5 prompt_tokens=7]' }],
    });
    let usage;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 5 });
  });

  it('answers the Responses API, streaming and not', async () => {
    const response = await openai.responses.create({ model: 'gpt-4o', input: 'hello' });
    expect(response.output_text).toBe('tok0 tok1 tok2 ');
    expect(response.usage?.input_tokens).toBe(10);
    const stream = await openai.responses.create({ model: 'gpt-4o', input: 'hello', stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types.at(-1)).toBe('response.completed');
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(3);
  });

  it('answers embeddings and legacy completions', async () => {
    const embedding = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    expect(embedding.data[0]?.embedding.map((x) => Math.round(x * 10) / 10)).toEqual([0.1, 0.2, 0.3]);
    expect(embedding.usage.prompt_tokens).toBe(10);
    const completion = await openai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'hello' });
    expect(completion.choices[0]?.text).toBe('tok0 tok1 tok2 ');
  });

  it('sends a dated snapshot upstream as the client pinned it', async () => {
    await openai.chat.completions.create({ model: 'gpt-4o-2024-08-06', messages: [{ role: 'user', content: 'hi' }] });
    expect(lastRequest().body?.model).toBe('gpt-4o-2024-08-06');
  });

  it('answers gpt-4 and its dated snapshot instead of 404 model_not_found', async () => {
    for (const model of ['gpt-4', 'gpt-4-0613']) {
      const completion = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.choices[0]?.message.content, model).toBe('tok0 tok1 tok2 ');
      expect(lastRequest().body?.model, model).toBe(model);
    }
  });

  it('refuses an image model on chat completions as a wrong endpoint instead of pricing it as text', async () => {
    const sent = mock.requests.length;
    const refused = await openai.chat.completions.create({ model: 'gpt-image-1', messages: [{ role: 'user', content: 'a cat' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ code: 'invalid_request', param: 'model' });
    expect(mock.requests.length).toBe(sent);
  });

  it('lists the models the key may use', async () => {
    const limited = await gw.newKey({ user: 'bob', allowedModels: ['gpt-4o-mini'] });
    const client = new OpenAI({ apiKey: limited.key, baseURL: `${gw.url}/v1` });
    const all = [];
    for await (const m of client.models.list()) all.push(m.id);
    expect(all).toEqual(['gpt-4o-mini']);
    const everything = [];
    for await (const m of openai.models.list()) everything.push(m.id);
    expect(everything).toContain('claude-sonnet-4-5');
  });
});

describe('Anthropic SDK through the gateway', () => {
  it('answers a message with the provider key in x-api-key', async () => {
    const message = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'tok0 tok1 tok2 ' });
    expect(lastRequest().headers['x-api-key']).toBe('sk-ant-upstream');
    expect(lastRequest().headers['anthropic-version']).toBe('2023-06-01');
  });

  it('streams a message', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi [mock chunks=4]' }] });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'tok0 tok1 tok2 tok3 ' });
    expect(final.usage.output_tokens).toBe(4);
  });

  it('gets errors in the Anthropic shape', async () => {
    const bad = new Anthropic({ apiKey: 'tg-not-a-real-key', baseURL: gw.url, maxRetries: 0 });
    const err = await bad.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error', code: 'invalid_api_key' } });
  });
});

describe('streaming timing', () => {
  it('relays a chunk before the upstream sends the next one', async () => {
    const started = performance.now();
    const arrivals: number[] = [];
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: '[mock chunks=3 delay_ms=200]' }] });
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals.push(performance.now() - started);
    expect(arrivals).toHaveLength(3);
    // Upstream sends chunk 0 at once and the next ones 200 ms apart; buffering would bunch them.
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThan(150);
    expect(arrivals[2]! - arrivals[1]!).toBeGreaterThan(150);
    expect(arrivals[0]!).toBeLessThan(150);
  });
});

describe('max_tokens in the ledger', () => {
  it('records a request that stated no max_tokens (or max_completion_tokens) as reserving the catalog cap', async () => {
    const erin = await gw.newKey({ user: 'cap-erin' });
    const client = new OpenAI({ apiKey: erin.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one' }] });
    await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'two' }] });
    await client.chat.completions.create({ model: 'gpt-4o-mini', max_completion_tokens: 20, messages: [{ role: 'user', content: 'three' }] });
    const flags = async () => {
      const result = await gw.app.database.db.execute(sql`select max_tokens_unstated from usage_events where user_id = ${erin.userId} order by time`);
      return (result as unknown as { rows: Array<{ max_tokens_unstated: boolean }> }).rows.map((r) => r.max_tokens_unstated);
    };
    await expect.poll(async () => (await flags()).length, { timeout: 3_000 }).toBe(3);
    expect(await flags()).toEqual([true, false, false]);
  });
});

describe('usage of requests no budget applies to', () => {
  // Nothing reserves here, so the prompt is first counted at settle, and only because the answer
  // carried no usage.
  it('records the prompt and delivered text, counted by Tollgate and marked estimated', async () => {
    const dora = await gw.newKey({ user: 'unbudgeted-dora' });
    const client = new OpenAI({ apiKey: dora.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const content = 'count me without a budget [mock no_usage chunks=4]';
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content }] });
    expect(answer.usage).toBeUndefined();
    const counter = createPromptCounter({ inlineMaxChars: 4096, pool: unusedPool });
    const model = gw.app.config.catalog.resolve('gpt-4o-mini')!;
    const counted = await counter.countPrompt('chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }, model);
    const delivered = await counter.countCompletion(answer.choices[0]!.message.content!, model);
    const ledger = async () => {
      const result = await gw.app.database.db.execute(sql`select prompt_tokens, completion_tokens, estimated from usage_events where user_id = ${dora.userId}`);
      return (result as unknown as { rows: Array<{ prompt_tokens: number; completion_tokens: number; estimated: boolean }> }).rows;
    };
    await expect.poll(async () => (await ledger()).length, { timeout: 3_000 }).toBe(1);
    expect(counted.promptTokens).toBeGreaterThan(5);
    expect(await ledger()).toEqual([{ prompt_tokens: counted.promptTokens, completion_tokens: delivered.tokens, estimated: true }]);
  });
});
