// The official Anthropic SDK calling an OpenAI model through /v1/messages: the request is translated
// into a chat completion, the answer back into a Message (whole or streamed), and the ledger charges
// OpenAI's real usage to the OpenAI model.
import Anthropic from '@anthropic-ai/sdk';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
let gw: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({ mock });
}, 240_000);

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

const lastRequest = () => mock.requests.at(-1)!;

async function userClient(user: string) {
  const created = await gw.newKey({ user });
  return { created, client: new Anthropic({ apiKey: created.key, baseURL: gw.url, maxRetries: 0 }) };
}

async function ledgerRows(userId: string) {
  const result = await gw.app.database.db.execute(sql`select provider, model, prompt_tokens, completion_tokens, stream from usage_events where user_id = ${userId} order by time`);
  return (result as unknown as { rows: Array<Record<string, unknown>> }).rows;
}

describe('the Anthropic SDK calling an OpenAI model', () => {
  it('gets a Message with OpenAI’s usage, charged to the OpenAI model', async () => {
    const { created, client } = await userClient('tr-anthropic-plain');
    const message = await client.messages.create({ model: 'gpt-4o-mini', max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: 'hi [mock chunks=4 prompt_tokens=12 cached_tokens=2]' }] });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', model: 'gpt-4o-mini', stop_reason: 'end_turn', content: [{ type: 'text', text: 'tok0 tok1 tok2 tok3 ' }] });
    expect(message.usage).toMatchObject({ input_tokens: 10, cache_read_input_tokens: 2, output_tokens: 4 });
    const upstream = lastRequest();
    expect(upstream.path).toBe('/v1/chat/completions');
    expect(upstream.body).toMatchObject({ model: 'gpt-4o-mini', max_completion_tokens: 100, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user' }] });
    await expect.poll(() => ledgerRows(created.userId), { timeout: 5_000 }).toEqual([expect.objectContaining({ provider: 'openai', model: 'gpt-4o-mini', prompt_tokens: 12, completion_tokens: 4 })]);
  });

  it('streams a Message event by event, closed by OpenAI’s usage', async () => {
    const { created, client } = await userClient('tr-anthropic-stream');
    const stream = client.messages.stream({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi [mock chunks=5 prompt_tokens=9]' }] });
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts.join('')).toBe('tok0 tok1 tok2 tok3 tok4 ');
    expect(final).toMatchObject({ stop_reason: 'end_turn', usage: { input_tokens: 9, output_tokens: 5 } });
    // The gateway asked OpenAI for the usage chunk; the client sees it only as message_delta usage.
    expect(lastRequest().body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    await expect.poll(() => ledgerRows(created.userId), { timeout: 5_000 }).toEqual([expect.objectContaining({ provider: 'openai', prompt_tokens: 9, completion_tokens: 5, stream: true })]);
  });

  it('sends tools, tool calls and tool results in OpenAI’s shape', async () => {
    const { client } = await userClient('tr-anthropic-tools');
    await client.messages.create({
      model: 'gpt-4o-mini',
      max_tokens: 100,
      tools: [{ name: 'get_weather', description: 'Weather in a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C' }] },
      ],
    });
    expect(lastRequest().body).toMatchObject({
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: '18°C' },
      ],
    });
  });

  it('answers a provider-shaped 502 when the whole answer is too large to translate, and still charges its usage', async () => {
    const { created, client } = await userClient('tr-anthropic-huge');
    const refused = await client.messages.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi [mock chunks=3 prompt_tokens=7 pad_bytes=17000000]' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.APIError);
    expect((refused as InstanceType<typeof Anthropic.APIError>).status).toBe(502);
    expect((refused as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    await expect.poll(() => ledgerRows(created.userId), { timeout: 10_000 }).toEqual([expect.objectContaining({ provider: 'openai', model: 'gpt-4o-mini', prompt_tokens: 7, completion_tokens: 3 })]);
  }, 60_000);
});
