// Azure OpenAI as a configuration, both ways: an upstream Azure resource (deployment paths,
// api-version, the api-key header) behind catalog models, and clients built for Azure (openai's
// AzureOpenAI) calling the gateway's deployment paths with their Tollgate key as `api-key`.
import { AzureOpenAI, NotFoundError, OpenAI, RateLimitError } from 'openai';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
let gw: TestGateway;
const apiVersion = '2024-10-21';

// gpt-4o is served by the Azure deployment prod-gpt4o, which Azure clients also call by that name.
beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({
    mock,
    overrides: {
      'providers.azure': {
        kind: 'openai',
        baseUrl: `${mock.url}/openai`,
        apiKey: 'azure-upstream-key',
        authHeader: 'api-key',
        query: { 'api-version': apiVersion },
        pathTemplate: '/deployments/{deployment}{path}',
      },
      'models.gpt-4o': { provider: 'azure', upstreamModel: 'prod-gpt4o' },
      aliases: { 'prod-gpt4o': 'gpt-4o' },
      'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 2_000 }],
    },
  });
}, 240_000);

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

async function ledgerRow(userId: string) {
  const result = await gw.app.database.db.execute(sql`select provider, model, prompt_tokens, completion_tokens, cost_micros, stream, status from usage_events where user_id = ${userId} order by time desc limit 1`);
  return (result as unknown as { rows: Array<Record<string, unknown>> }).rows[0];
}

const azureClient = (key: string, deployment?: string) => new AzureOpenAI({ endpoint: gw.url, apiKey: key, apiVersion, maxRetries: 0, ...(deployment ? { deployment } : {}) });
const upstream = () => mock.requests.at(-1)!;

describe('AzureOpenAI through the gateway to an Azure upstream', () => {
  it('calls a deployment path with the Tollgate key as api-key, and the gateway calls Azure’s with its own', async () => {
    const created = await gw.newKey({ user: 'azure-ann' });
    const answer = await azureClient(created.key).chat.completions.create({ model: 'prod-gpt4o', messages: [{ role: 'user', content: 'hi [mock chunks=3 prompt_tokens=12]' }], max_tokens: 50 });
    expect(answer.choices[0]!.message.content).toBe('tok0 tok1 tok2 ');
    expect(upstream().path).toBe(`/openai/deployments/prod-gpt4o/chat/completions?api-version=${apiVersion}`);
    expect(upstream().headers['api-key']).toBe('azure-upstream-key');
    expect(upstream().headers.authorization).toBeUndefined();
    expect(JSON.stringify(upstream())).not.toContain(created.key);
    // 12 input at $2.50/M + 3 output at $10/M = 60 micro-USD.
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ provider: 'azure', model: 'gpt-4o', prompt_tokens: 12, completion_tokens: 3, cost_micros: 60, status: 200 });
  });

  it('streams, with the usage chunk the gateway asked Azure for hidden from a client that did not', async () => {
    const created = await gw.newKey({ user: 'azure-ben' });
    const stream = await azureClient(created.key, 'gpt-4o').chat.completions.create({ model: 'ignored-by-azure', messages: [{ role: 'user', content: 'hi [mock chunks=4 prompt_tokens=9]' }], max_tokens: 50, stream: true });
    const texts: string[] = [];
    for await (const chunk of stream) {
      expect(chunk.usage ?? undefined).toBeUndefined();
      texts.push(chunk.choices[0]?.delta.content ?? '');
    }
    expect(texts.join('')).toBe('tok0 tok1 tok2 tok3 ');
    expect(upstream().path).toBe(`/openai/deployments/prod-gpt4o/chat/completions?api-version=${apiVersion}`);
    expect(upstream().body).toMatchObject({ model: 'prod-gpt4o', stream_options: { include_usage: true } });
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ provider: 'azure', prompt_tokens: 9, completion_tokens: 4, stream: true });
  });

  it('serves an OpenAI client asking for the catalog name from the same Azure deployment', async () => {
    const created = await gw.newKey({ user: 'azure-cid' });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: created.key, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi [mock chunks=2]' }], max_tokens: 50 });
    expect(answer.choices[0]!.message.content).toBe('tok0 tok1 ');
    expect(upstream().path).toBe(`/openai/deployments/prod-gpt4o/chat/completions?api-version=${apiVersion}`);
  });

  it('answers a deployment the catalog does not know with a 404 model_not_found, unsent', async () => {
    const before = mock.requests.length;
    const refused = await azureClient(gw.key).chat.completions.create({ model: 'no-such-deployment', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NotFoundError);
    expect((refused as NotFoundError).error).toMatchObject({ code: 'model_not_found' });
    expect(mock.requests.length).toBe(before);
  });

  it('refuses a request over budget before it reaches Azure', async () => {
    const created = await gw.newKey({ user: 'azure-dot' });
    const before = mock.requests.length;
    const refused = await azureClient(created.key).chat.completions.create({ model: 'prod-gpt4o', messages: [{ role: 'user', content: 'word '.repeat(3_000) }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitError);
    expect((refused as RateLimitError).error).toMatchObject({ code: 'budget_exceeded' });
    expect(mock.requests.length).toBe(before);
  });

  it('reaches embeddings through a deployment path too, metered as the catalog model', async () => {
    const created = await gw.newKey({ user: 'azure-eve' });
    const answer = await azureClient(created.key).embeddings.create({ model: 'text-embedding-3-small', input: 'hello [mock prompt_tokens=7]' });
    expect(answer.data).toHaveLength(1);
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ model: 'text-embedding-3-small', prompt_tokens: 7 });
  });
});
