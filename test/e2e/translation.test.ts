// One API for every model: the official OpenAI SDK calling Claude and Gemini models through
// /v1/chat/completions. The gateway translates the request into the target provider's API, the
// answer back, and meters the target's real usage (ledger rows name the target provider and model).
import OpenAI from 'openai';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
let gw: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({ mock, env: { GEMINI_BASE_URL: mock.url, GEMINI_API_KEY: 'upstream-gemini-key' } });
}, 240_000);

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

const lastRequest = () => mock.requests.at(-1)!;
// A 1x1 PNG.
const pixel = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const weatherTool: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

async function userClient(user: string) {
  const created = await gw.newKey({ user });
  return { created, client: new OpenAI({ apiKey: created.key, baseURL: `${gw.url}/v1`, maxRetries: 0 }) };
}

async function ledgerRows(userId: string) {
  const result = await gw.app.database.db.execute(
    sql`select provider, model, prompt_tokens, completion_tokens, stream, status from usage_events where user_id = ${userId} order by time`,
  );
  return (result as unknown as { rows: Array<Record<string, unknown>> }).rows;
}

async function collect(stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk>) {
  let text = '';
  let args = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  const calls: Array<{ id?: string; name?: string }> = [];
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += choice.delta.content ?? '';
    for (const call of choice.delta.tool_calls ?? []) {
      if (call.id) calls.push({ id: call.id, name: call.function?.name });
      args += call.function?.arguments ?? '';
    }
    finish = choice.finish_reason ?? finish;
  }
  return { text, args, finish, usage, calls };
}

describe.each([
  { label: 'Claude', model: 'claude-haiku-4-5', provider: 'anthropic', path: '/v1/messages', streamPath: '/v1/messages' },
  { label: 'Gemini', model: 'gemini-2.5-flash', provider: 'gemini', path: '/v1beta/models/gemini-2.5-flash:generateContent', streamPath: '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse' },
])('the OpenAI SDK calling a $label model', ({ model, provider, path, streamPath }) => {
  it('gets a chat completion with the target’s usage, charged to the target provider and model', async () => {
    const { created, client } = await userClient(`tr-plain-${provider}`);
    const completion = await client.chat.completions.create({
      model,
      max_tokens: 100,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi [mock chunks=4 prompt_tokens=11]' },
      ],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe(model);
    expect(completion.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'tok0 tok1 tok2 tok3 ' }, finish_reason: 'stop' });
    expect(completion.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });
    expect(lastRequest().path).toBe(path);
    expect(JSON.stringify(lastRequest().body)).toContain('Be brief.');
    await expect.poll(() => ledgerRows(created.userId), { timeout: 5_000 }).toEqual([expect.objectContaining({ provider, model, prompt_tokens: 11, completion_tokens: 4, status: 200 })]);
  });

  it('streams a chat completion, with the usage chunk when asked for', async () => {
    const { created, client } = await userClient(`tr-stream-${provider}`);
    const stream = await client.chat.completions.create({ model, max_tokens: 100, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi [mock chunks=5 prompt_tokens=8]' }] });
    const got = await collect(stream);
    expect(got.text).toBe('tok0 tok1 tok2 tok3 tok4 ');
    expect(got.finish).toBe('stop');
    expect(got.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 5 });
    expect(lastRequest().path).toBe(streamPath);
    await expect.poll(() => ledgerRows(created.userId), { timeout: 5_000 }).toEqual([expect.objectContaining({ provider, model, prompt_tokens: 8, completion_tokens: 5, stream: true })]);
  });

  it('round-trips a tool call, streamed and not', async () => {
    const { client } = await userClient(`tr-tools-${provider}`);
    const ask: OpenAI.Chat.ChatCompletionMessageParam = { role: 'user', content: 'Weather in Paris?' };
    const first = await client.chat.completions.create({ model, max_tokens: 100, tools: [weatherTool], tool_choice: 'auto', messages: [ask] });
    const call = first.choices[0]!.message.tool_calls?.[0];
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse((call as OpenAI.Chat.ChatCompletionMessageFunctionToolCall).function.arguments)).toEqual({ city: 'Paris' });

    const streamed = await collect(await client.chat.completions.create({ model, max_tokens: 100, stream: true, tools: [weatherTool], messages: [ask] }));
    expect(streamed.finish).toBe('tool_calls');
    expect(streamed.calls).toEqual([expect.objectContaining({ name: 'get_weather' })]);
    expect(JSON.parse(streamed.args)).toEqual({ city: 'Paris' });

    const second = await client.chat.completions.create({
      model,
      max_tokens: 100,
      tools: [weatherTool],
      messages: [ask, first.choices[0]!.message, { role: 'tool', tool_call_id: call!.id, content: '18°C and sunny' }],
    });
    expect(second.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'tok0 tok1 tok2 ' } });
    // The tool's answer went upstream in the target's own shape.
    expect(JSON.stringify(lastRequest().body)).toContain('18°C and sunny');
    expect(JSON.stringify(lastRequest().body)).toMatch(provider === 'anthropic' ? /"tool_result"/ : /"functionResponse"/);
  });

  it('passes images as data URLs and JSON mode', async () => {
    const { client } = await userClient(`tr-image-${provider}`);
    await client.chat.completions.create({
      model,
      max_tokens: 100,
      response_format: { type: 'json_object' },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe as JSON' }, { type: 'image_url', image_url: { url: pixel } }] }],
    });
    const sent = JSON.stringify(lastRequest().body);
    if (provider === 'anthropic') {
      expect(sent).toContain('"source":{"type":"base64","media_type":"image/png"');
      expect(sent).toContain('Respond with a single valid JSON object');
    } else {
      expect(sent).toContain('"inlineData":{"mimeType":"image/png"');
      expect(sent).toContain('"responseMimeType":"application/json"');
    }
  });

  it('records whether the client stated max_tokens, though the translation states a cap for it', async () => {
    const { client, created } = await userClient(`tr-cap-${provider}`);
    await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'no cap' }] });
    await client.chat.completions.create({ model, max_tokens: 64, messages: [{ role: 'user', content: 'capped' }] });
    const flags = async () => {
      const result = await gw.app.database.db.execute(sql`select max_tokens_unstated from usage_events where user_id = ${created.userId} order by time`);
      return (result as unknown as { rows: Array<{ max_tokens_unstated: boolean }> }).rows.map((r) => r.max_tokens_unstated);
    };
    await expect.poll(async () => (await flags()).length, { timeout: 3_000 }).toBe(2);
    expect(await flags()).toEqual([true, false]);
  });

  it('refuses what cannot be translated before it reaches the upstream', async () => {
    const { client } = await userClient(`tr-refuse-${provider}`);
    const before = mock.requests.length;
    const refused = await client.chat.completions.create({ model, n: 2, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ code: 'invalid_request' });
    expect(mock.requests.length).toBe(before);
  });
});
