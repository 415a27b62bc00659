// Bedrock's runtime API through the gateway, driven by AWS's own SDK (@aws-sdk/client-bedrock-runtime)
// against a mock Bedrock that verifies the SigV4 signature of every request it receives. Clients
// authenticate with their Tollgate key as a Bedrock API key (Authorization: Bearer); the gateway
// re-signs each request upstream with credentials from the standard AWS chain.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BedrockRuntimeClient,
  type BedrockRuntimeClientConfig,
  ConverseCommand,
  ConverseStreamCommand,
  ResourceNotFoundException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockBedrock, startMockBedrock } from '../../bench/mock-bedrock.js';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../security/raw-http.js';

const sonnet = 'anthropic.claude-3-5-sonnet-20241022-v2:0';
const awsEnv = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_BEARER_TOKEN_BEDROCK'] as const;
const savedEnv = Object.fromEntries(awsEnv.map((name) => [name, process.env[name]]));

let mock: MockUpstream;
let bedrock: MockBedrock;
let gw: TestGateway;

// The gateway's AWS credentials come from the environment, as the default chain reads them first.
// Every user may spend 2,000 tokens a day: a request that leaves maxTokens to the model (8,192 for
// Claude 3.5 Sonnet v2) cannot fit, one capped at 50 can.
beforeAll(async () => {
  for (const name of awsEnv) delete process.env[name];
  mock = await startMockUpstream();
  bedrock = await startMockBedrock({ region: 'us-west-2', credentials: { accessKeyId: 'AKIATOLLGATETEST', secretAccessKey: 'gateway-secret', sessionToken: 'gateway-session-token' } });
  process.env.AWS_ACCESS_KEY_ID = 'AKIATOLLGATETEST';
  process.env.AWS_SECRET_ACCESS_KEY = 'gateway-secret';
  process.env.AWS_SESSION_TOKEN = 'gateway-session-token';
  gw = await startTestGateway({
    mock,
    env: { BEDROCK_BASE_URL: bedrock.url },
    overrides: { 'providers.bedrock.region': 'us-west-2', 'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'tokens', window: 'day', limit: 2_000 }] },
  });
}, 240_000);

afterAll(async () => {
  await gw?.close();
  await bedrock?.close();
  await mock?.close();
  for (const name of awsEnv) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
});

// The SDK's own HTTP/1.1 handler (its default is HTTP/2, which the gateway does not speak), one
// attempt so a refusal is seen as it came.
const clientConfig = (extra: BedrockRuntimeClientConfig): BedrockRuntimeClientConfig => ({ region: 'us-west-2', endpoint: gw.url, requestHandler: new NodeHttpHandler(), maxAttempts: 1, ...extra });
const bearerClient = (key: string) => new BedrockRuntimeClient(clientConfig({ token: { token: key }, authSchemePreference: ['httpBearerAuth'] }));

async function ledgerRow(userId: string) {
  const result = await gw.app.database.db.execute(
    sql`select provider, model, prompt_tokens, cached_tokens, completion_tokens, cost_micros, stream, status from usage_events where user_id = ${userId} order by time desc limit 1`,
  );
  return (result as unknown as { rows: Array<Record<string, unknown>> }).rows[0];
}

async function userClient(user: string) {
  const created = await gw.newKey({ user });
  return { created, client: bearerClient(created.key) };
}

const ask = (text: string, maxTokens: number | undefined = 50) => ({
  modelId: sonnet,
  messages: [{ role: 'user' as const, content: [{ text }] }],
  ...(maxTokens === undefined ? {} : { inferenceConfig: { maxTokens } }),
});

describe('@aws-sdk/client-bedrock-runtime through the gateway', () => {
  it('answers Converse with a Tollgate key as the bearer token, re-signs upstream with SigV4, and charges the real usage', async () => {
    const { created, client } = await userClient('bedrock-ann');
    const answer = await client.send(new ConverseCommand(ask('hi [mock chunks=4 prompt_tokens=12]')));
    expect(answer.output?.message?.content?.[0]?.text).toBe('tok0 tok1 tok2 tok3 ');
    expect(answer.usage).toMatchObject({ inputTokens: 12, outputTokens: 4 });
    const upstream = bedrock.requests.at(-1)!;
    expect(upstream.path).toBe('/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse');
    expect(upstream.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIATOLLGATETEST\/\d{8}\/us-west-2\/bedrock\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/);
    expect(upstream.headers['x-amz-security-token']).toBe('gateway-session-token');
    expect(JSON.stringify(upstream.headers)).not.toContain(created.key);
    // 12 input at $3/M + 4 output at $15/M = 96 micro-USD.
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({
      provider: 'bedrock', model: sonnet, prompt_tokens: 12, completion_tokens: 4, cost_micros: 96, stream: false, status: 200,
    });
  });

  it('streams ConverseStream through the binary event stream and charges the metadata event’s usage, cache reads and writes included', async () => {
    const { created, client } = await userClient('bedrock-ben');
    const answer = await client.send(new ConverseStreamCommand(ask('hi [mock chunks=5 prompt_tokens=10 cached_tokens=1000 cache_write_tokens=200]')));
    const texts: string[] = [];
    let usage;
    for await (const event of answer.stream!) {
      if (event.contentBlockDelta?.delta?.text) texts.push(event.contentBlockDelta.delta.text);
      if (event.metadata) usage = event.metadata.usage;
    }
    expect(texts.join('')).toBe('tok0 tok1 tok2 tok3 tok4 ');
    expect(usage).toMatchObject({ inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 1000, cacheWriteInputTokens: 200 });
    expect(bedrock.requests.at(-1)!.path).toBe('/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream');
    // 10 x $3 + 1,000 cached x $0.30 + 200 written x $3.75 + 5 x $15 per 1M = 1,155 micro-USD.
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ prompt_tokens: 1_210, cached_tokens: 1_000, completion_tokens: 5, cost_micros: 1_155, stream: true });
  });

  it('reaches an Anthropic model through its cross-region inference profile, forwarded as named and priced as the model', async () => {
    const { created, client } = await userClient('bedrock-cid');
    const answer = await client.send(new ConverseCommand({ ...ask('hi [mock chunks=2 prompt_tokens=20]'), modelId: 'us.anthropic.claude-3-5-sonnet-20241022-v2:0' }));
    expect(answer.output?.message?.content?.[0]?.text).toBe('tok0 tok1 ');
    expect(bedrock.requests.at(-1)!.path).toBe('/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse');
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ model: sonnet, prompt_tokens: 20, completion_tokens: 2, cost_micros: 90 });
  });

  it('takes the Tollgate key from AWS_BEARER_TOKEN_BEDROCK, with no other configuration than the endpoint', async () => {
    const { created } = await userClient('bedrock-dot');
    process.env.AWS_BEARER_TOKEN_BEDROCK = created.key;
    try {
      const client = new BedrockRuntimeClient(clientConfig({}));
      const answer = await client.send(new ConverseCommand(ask('hi [mock chunks=1]')));
      expect(answer.output?.message?.content?.[0]?.text).toBe('tok0 ');
    } finally {
      delete process.env.AWS_BEARER_TOKEN_BEDROCK;
    }
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ provider: 'bedrock', status: 200 });
  });

  it('caps a request that sets no maxTokens at what the budget allows, and signs the body it changed', async () => {
    const { client } = await userClient('bedrock-eve');
    const answer = await client.send(new ConverseCommand(ask('hi [mock chunks=1]', undefined)));
    expect(answer.output?.message?.content?.[0]?.text).toBe('tok0 ');
    const upstream = bedrock.requests.at(-1)!;
    const cap = (upstream.body as { inferenceConfig: { maxTokens: number } }).inferenceConfig.maxTokens;
    expect(cap).toBeGreaterThan(0);
    expect(cap).toBeLessThan(2_000);
  });

  it('refuses a request the budget cannot cover with a ThrottlingException, before anything reaches Bedrock', async () => {
    const { client } = await userClient('bedrock-fay');
    const before = bedrock.requests.length + bedrock.refused.length;
    const refused = await client.send(new ConverseCommand(ask('word '.repeat(3_000)))).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ThrottlingException);
    expect((refused as ThrottlingException).$metadata.httpStatusCode).toBe(429);
    expect((refused as ThrottlingException & { code?: string }).code).toBe('budget_exceeded');
    const stream = await client.send(new ConverseStreamCommand(ask('word '.repeat(3_000)))).catch((e: unknown) => e);
    expect(stream).toBeInstanceOf(ThrottlingException);
    expect(bedrock.requests.length + bedrock.refused.length).toBe(before);
  });

  it('names gateway refusals as Bedrock does: an unknown model is a ResourceNotFoundException', async () => {
    const refused = await bearerClient(gw.key).send(new ConverseCommand({ ...ask('hi'), modelId: 'anthropic.claude-unknown-v1:0' })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ResourceNotFoundException);
    expect((refused as ResourceNotFoundException & { code?: string }).code).toBe('model_not_found');
  });

  it('relays Bedrock’s own errors in Bedrock’s shape', async () => {
    const refused = await bearerClient(gw.key).send(new ConverseCommand(ask('hi [mock status=400]'))).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ValidationException);
    expect((refused as ValidationException).message).toBe('mock upstream error 400');
  });

  it('refuses a SigV4-signed client: the gateway holds no AWS secret to verify it with, and says how to send the key', async () => {
    const before = bedrock.requests.length + bedrock.refused.length;
    const client = new BedrockRuntimeClient(clientConfig({ credentials: { accessKeyId: 'AKIACLIENT', secretAccessKey: gw.key } }));
    const refused = await client.send(new ConverseCommand(ask('hi'))).catch((e: unknown) => e);
    expect((refused as { name: string }).name).toBe('UnrecognizedClientException');
    expect((refused as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(401);
    expect((refused as Error).message).toContain('Bearer');
    expect(bedrock.requests.length + bedrock.refused.length).toBe(before);
  });
});

describe('an OpenAI client asking for a Bedrock model', () => {
  const openai = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const weather: OpenAI.Chat.ChatCompletionTool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

  it('is answered through Converse, translated both ways, and charged Bedrock’s usage', async () => {
    const created = await gw.newKey({ user: 'bedrock-gus' });
    const answer = await openai(created.key).chat.completions.create({
      model: sonnet,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi [mock chunks=3 prompt_tokens=15]' }],
      max_tokens: 50,
      temperature: 0.2,
      stop: ['END'],
    });
    expect(answer.choices[0]!.message.content).toBe('tok0 tok1 tok2 ');
    expect(answer.choices[0]!.finish_reason).toBe('stop');
    expect(answer.usage).toMatchObject({ prompt_tokens: 15, completion_tokens: 3 });
    const upstream = bedrock.requests.at(-1)!;
    expect(upstream.path).toBe('/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse');
    expect(upstream.body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'hi [mock chunks=3 prompt_tokens=15]' }] }],
      system: [{ text: 'Be brief.' }],
      inferenceConfig: { maxTokens: 50, temperature: 0.2, stopSequences: ['END'] },
    });
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ provider: 'bedrock', model: sonnet, prompt_tokens: 15, completion_tokens: 3, stream: false });
  });

  it('streams the binary event stream back as OpenAI chunks, with the usage chunk asked for', async () => {
    const created = await gw.newKey({ user: 'bedrock-hal' });
    const stream = await openai(created.key).chat.completions.create({ model: sonnet, messages: [{ role: 'user', content: 'hi [mock chunks=4 prompt_tokens=8]' }], max_tokens: 50, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('tok0 tok1 tok2 tok3 ');
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 4 });
    await expect.poll(() => ledgerRow(created.userId), { timeout: 5_000 }).toMatchObject({ provider: 'bedrock', prompt_tokens: 8, completion_tokens: 4, stream: true });
  });

  it('turns tools into toolSpecs and toolUse answers into tool calls, whole and streamed', async () => {
    const client = openai(gw.key);
    const whole = await client.chat.completions.create({ model: sonnet, messages: [{ role: 'user', content: 'weather?' }], tools: [weather], tool_choice: 'required', max_tokens: 50 });
    expect(whole.choices[0]!.finish_reason).toBe('tool_calls');
    expect(whole.choices[0]!.message.tool_calls).toEqual([{ id: 'tooluse_mock', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    expect(bedrock.requests.at(-1)!.body).toMatchObject({ toolConfig: { tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: weather.function.parameters } } }], toolChoice: { any: {} } } });
    const stream = await client.chat.completions.create({ model: sonnet, messages: [{ role: 'user', content: 'weather?' }], tools: [weather], max_tokens: 50, stream: true });
    let args = '';
    const names: string[] = [];
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        if (call.function?.name) names.push(call.function.name);
        args += call.function?.arguments ?? '';
      }
    }
    expect(names).toEqual(['get_weather']);
    expect(JSON.parse(args)).toEqual({ city: 'Paris' });
    // The call's result goes back as a toolResult, and the answer is text again.
    const after = await client.chat.completions.create({
      model: sonnet,
      max_tokens: 50,
      tools: [weather],
      messages: [
        { role: 'user', content: 'weather? [mock chunks=1]' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'tooluse_mock', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'tooluse_mock', content: 'sunny' },
      ],
    });
    expect(after.choices[0]!.message.content).toBe('tok0 ');
    expect((bedrock.requests.at(-1)!.body as { messages: unknown[] }).messages.slice(1)).toEqual([
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_mock', name: 'get_weather', input: { city: 'Paris' } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_mock', content: [{ text: 'sunny' }] } }] },
    ]);
  });
});

describe('Bedrock wire details the SDK does not exercise', () => {
  const post = (path: string, body: unknown, key = gw.key) =>
    request(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });

  it('refuses an output cap hidden in additionalModelRequestFields, which Bedrock hands to the model unread', async () => {
    const before = bedrock.requests.length;
    for (const field of ['max_tokens', 'max_gen_len', 'maxTokens']) {
      const res = await post('/model/anthropic.claude-3-5-sonnet-20241022-v2:0/converse', { ...ask('hi'), additionalModelRequestFields: { [field]: 100_000 } });
      expect(res.statusCode).toBe(400);
      expect(res.headers['x-amzn-errortype']).toMatch(/^ValidationException:/);
      expect(await res.body.json()).toMatchObject({ code: 'invalid_request' });
    }
    expect(bedrock.requests.length).toBe(before);
  });

  it.each([
    ['/model/Anthropic.Claude-3-haiku-20240307-v1:0/converse', 404, 'route_not_found'],
    ['/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse/', 404, 'route_not_found'],
    ['/model/x/../anthropic.claude-3-haiku-20240307-v1:0/converse', 400, 'invalid_path'],
    ['/model/anthropic%2fclaude/converse', 400, 'invalid_path'],
    ['/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse', 400, 'invalid_path'],
  ])('POST %s is refused (%i %s) and never sent upstream', async (target, status, code) => {
    const before = bedrock.requests.length + bedrock.refused.length;
    const res = await rawRequest(gw.url, 'POST', target, { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' }, JSON.stringify(ask('hi')));
    expect(res.status).toBe(status);
    expect(JSON.stringify(res.json)).toContain(code);
    expect(bedrock.requests.length + bedrock.refused.length).toBe(before);
  });
});

describe('the mock Bedrock checks signatures as AWS does', () => {
  it('refuses an unsigned request and one signed with the wrong secret', async () => {
    const unsigned = await request(`${bedrock.url}/model/${encodeURIComponent(sonnet)}/converse`, { method: 'POST', body: JSON.stringify(ask('hi')) });
    expect(unsigned.statusCode).toBe(403);
    expect(unsigned.headers['x-amzn-errortype']).toMatch(/^MissingAuthenticationTokenException:/);
    await unsigned.body.text();
    const { sign } = await import('../../src/providers/bedrock/sign.js');
    const { providerSchema } = await import('../../src/config/schema.js');
    const config = providerSchema.parse({ kind: 'bedrock', baseUrl: bedrock.url, region: 'us-west-2' });
    const path = `/model/${encodeURIComponent(sonnet)}/converse`;
    const body = JSON.stringify(ask('hi'));
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
    try {
      const headers = await sign(config, { path, headers: { 'content-type': 'application/json' }, body });
      const forged = await request(`${bedrock.url}${path}`, { method: 'POST', headers, body });
      expect(forged.statusCode).toBe(403);
      expect(forged.headers['x-amzn-errortype']).toMatch(/^InvalidSignatureException:/);
      await forged.body.text();
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = 'gateway-secret';
    }
  });
});

describe('credentials from the shared credentials file', () => {
  it('signs with the profile the AWS chain finds when the environment holds no keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-aws-'));
    const mockUpstream = await startMockUpstream();
    const fileBedrock = await startMockBedrock({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIAFROMFILE', secretAccessKey: 'file-secret' } });
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, token: process.env.AWS_SESSION_TOKEN };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    delete process.env.AWS_SESSION_TOKEN;
    writeFileSync(join(dir, 'credentials'), '[tollgate-test]\naws_access_key_id = AKIAFROMFILE\naws_secret_access_key = file-secret\n');
    writeFileSync(join(dir, 'config'), '');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
    process.env.AWS_CONFIG_FILE = join(dir, 'config');
    process.env.AWS_PROFILE = 'tollgate-test';
    const fileGw = await startTestGateway({ mock: mockUpstream, env: { BEDROCK_BASE_URL: fileBedrock.url }, overrides: { 'providers.bedrock.region': 'eu-west-1' } });
    try {
      const client = new BedrockRuntimeClient({ region: 'eu-west-1', endpoint: fileGw.url, requestHandler: new NodeHttpHandler(), maxAttempts: 1, token: { token: fileGw.key }, authSchemePreference: ['httpBearerAuth'] });
      const answer = await client.send(new ConverseCommand(ask('hi [mock chunks=2]')));
      expect(answer.output?.message?.content?.[0]?.text).toBe('tok0 tok1 ');
      expect(fileBedrock.requests.at(-1)!.headers.authorization).toContain('Credential=AKIAFROMFILE/');
      expect(fileBedrock.refused).toHaveLength(0);
    } finally {
      await fileGw.close();
      await fileBedrock.close();
      await mockUpstream.close();
      delete process.env.AWS_SHARED_CREDENTIALS_FILE;
      delete process.env.AWS_CONFIG_FILE;
      delete process.env.AWS_PROFILE;
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: saved.id, AWS_SECRET_ACCESS_KEY: saved.secret, AWS_SESSION_TOKEN: saved.token });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
