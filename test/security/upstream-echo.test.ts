// Upstream error bodies that quote the provider credential the gateway sent must not hand that
// credential to the client. The mock splits its error body inside the quoted secret, so a
// chunk-at-a-time redactor would let it through.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
let gw: TestGateway;

const openaiKey = 'sk-upstream-openai-0123456789';
const anthropicKey = 'sk-ant-upstream-0123456789';
const extraHeaderSecret = 'azure-subscription-secret-42';

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({
    mock,
    env: { OPENAI_API_KEY: openaiKey, ANTHROPIC_API_KEY: anthropicKey },
    overrides: { 'providers.openai.headers': { 'api-key': extraHeaderSecret } },
  });
});

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

describe('credential echo', () => {
  it('an OpenAI error body quoting the provider key and auth headers reaches the client redacted', async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: '[mock status=401 echo_credentials]' }] }),
    });
    expect(res.statusCode).toBe(401);
    const text = await res.body.text();
    // The upstream really did see (and quote) the secrets.
    expect(mock.requests.at(-1)!.headers.authorization).toBe(`Bearer ${openaiKey}`);
    expect(text).not.toContain(openaiKey);
    expect(text).not.toContain(extraHeaderSecret);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'mock_401', message: expect.stringContaining('[REDACTED]') } });
    expect(Number(res.headers['content-length'] ?? Buffer.byteLength(text))).toBe(Buffer.byteLength(text));
  });

  it('an Anthropic error body quoting x-api-key reaches the client redacted', async () => {
    const res = await request(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': gw.key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: '[mock status=400 echo_credentials]' }] }),
    });
    expect(res.statusCode).toBe(400);
    const text = await res.body.text();
    expect(mock.requests.at(-1)!.headers['x-api-key']).toBe(anthropicKey);
    expect(text).not.toContain(anthropicKey);
    expect(JSON.parse(text)).toMatchObject({ type: 'error', error: { message: expect.stringContaining('[REDACTED]') } });
  });
});
