// What the ledger charges for catalog tiers and for models the catalog lacks. An OpenAI-compatible
// server with many local models: under the `estimate` policy a model the catalog does not list,
// asked for as PROVIDER/MODEL, is forwarded and priced at the provider's default price with its
// ledger row marked estimated; under `refuse` (the default) it is a 404.
import OpenAI from 'openai';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
let gw: TestGateway;
let openai: OpenAI;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({
    mock,
    overrides: {
      aliases: { 'house-fast': 'gpt-4o-mini' },
      'providers.local': {
        kind: 'openai',
        baseUrl: `${mock.url}/v1`,
        apiKey: 'sk-local',
        // $1 per 1M input tokens, $2 per 1M output: 1 and 2 micro-USD per token.
        unknownModels: { policy: 'estimate', price: { inputPerMTok: 1, outputPerMTok: 2 } },
      },
    },
  });
  openai = new OpenAI({ apiKey: gw.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

type Row = { provider: string; model: string; prompt_tokens: number; completion_tokens: number; cost_micros: number; estimated: boolean };
const ledger = async (model: string): Promise<Row[]> => {
  const result = await gw.app.database.db.execute(sql`select provider, model, prompt_tokens, completion_tokens, cost_micros, estimated from usage_events where model = ${model}`);
  return (result as unknown as { rows: Row[] }).rows.map((r) => ({ ...r, prompt_tokens: Number(r.prompt_tokens), completion_tokens: Number(r.completion_tokens), cost_micros: Number(r.cost_micros) }));
};

describe('unknown models', () => {
  it('forwards an unlisted model of an estimate provider under its own name and records it priced at the default, marked estimated', async () => {
    const answer = await openai.chat.completions.create({ model: 'local/llama3.1:8b', messages: [{ role: 'user', content: 'hi [mock prompt_tokens=1000 chunks=500]' }] });
    expect(answer.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500 });
    const upstream = mock.requests.at(-1)!;
    expect(upstream.body?.model).toBe('llama3.1:8b');
    expect(upstream.headers.authorization).toBe('Bearer sk-local');
    await expect.poll(async () => (await ledger('local/llama3.1:8b')).length, { timeout: 5_000 }).toBe(1);
    expect(await ledger('local/llama3.1:8b')).toEqual([
      { provider: 'local', model: 'local/llama3.1:8b', prompt_tokens: 1000, completion_tokens: 500, cost_micros: 1000 * 1 + 500 * 2, estimated: true },
    ]);
  });

  it('keeps metric labels bounded: every unlisted model of a provider shares one label', async () => {
    await openai.chat.completions.create({ model: 'local/qwen2.5-coder:7b', messages: [{ role: 'user', content: 'hi' }] });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('model="local/(unlisted)"');
    expect(metrics).not.toContain('qwen2.5-coder');
  });

  it('refuses an unlisted model of a provider under the default refuse policy with 404 model_not_found', async () => {
    const sent = mock.requests.length;
    for (const model of ['openai/gpt-unreleased', 'gpt-unreleased', 'local/', 'local/..', 'local/has space', `local/${'x'.repeat(201)}`, 'nowhere/llama3']) {
      const refused = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(refused, model).toBeInstanceOf(OpenAI.NotFoundError);
      expect((refused as InstanceType<typeof OpenAI.NotFoundError>).error, model).toMatchObject({ code: 'model_not_found' });
    }
    expect(mock.requests.length).toBe(sent);
  });

  it('resolves PROVIDER/MODEL of a listed model to the catalog entry at its list price', async () => {
    await openai.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi [mock prompt_tokens=1000 chunks=100]' }] });
    expect(mock.requests.at(-1)!.body?.model).toBe('gpt-4o');
    await expect.poll(async () => (await ledger('gpt-4o')).length, { timeout: 5_000 }).toBeGreaterThan(0);
    expect((await ledger('gpt-4o')).at(-1)).toMatchObject({ cost_micros: 1000 * 2.5 + 100 * 10, estimated: false });
  });
});

describe('aliases', () => {
  it('forwards a dated snapshot the client pinned under its own name, priced and recorded as its family', async () => {
    const before = (await ledger('gpt-4o')).length;
    await openai.chat.completions.create({ model: 'gpt-4o-2024-11-20', messages: [{ role: 'user', content: 'pinned [mock prompt_tokens=1000 chunks=100]' }] });
    expect(mock.requests.at(-1)!.body?.model).toBe('gpt-4o-2024-11-20');
    await expect.poll(async () => (await ledger('gpt-4o')).length, { timeout: 5_000 }).toBe(before + 1);
    expect((await ledger('gpt-4o')).at(-1)).toMatchObject({ cost_micros: 1000 * 2.5 + 100 * 10 });
    await openai.chat.completions.create({ model: 'openai/gpt-4o-2024-08-06', messages: [{ role: 'user', content: 'pinned' }] });
    expect(mock.requests.at(-1)!.body?.model).toBe('gpt-4o-2024-08-06');
  });

  it('rewrites a gateway alias to the model it names', async () => {
    await openai.chat.completions.create({ model: 'house-fast', messages: [{ role: 'user', content: 'alias' }] });
    expect(mock.requests.at(-1)!.body?.model).toBe('gpt-4o-mini');
  });
});

describe('service tiers', () => {
  it('charges a flex request at the flex price and a priority one at the priority price', async () => {
    const ask = (service_tier: 'flex' | 'priority') =>
      openai.chat.completions.create({ model: 'o4-mini', service_tier, messages: [{ role: 'user', content: `${service_tier} [mock prompt_tokens=1000 chunks=100]` }] });
    await ask('flex');
    expect(mock.requests.at(-1)!.body?.service_tier).toBe('flex');
    await ask('priority');
    await expect.poll(async () => (await ledger('o4-mini')).length, { timeout: 5_000 }).toBe(2);
    // o4-mini: flex $0.55 in / $2.20 out, priority $2 / $8, standard $1.10 / $4.40 per 1M tokens.
    expect((await ledger('o4-mini')).map((r) => r.cost_micros).sort((a, b) => a - b)).toEqual([1000 * 0.55 + 100 * 2.2, 1000 * 2 + 100 * 8]);
  });
});
