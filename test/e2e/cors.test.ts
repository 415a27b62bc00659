// CORS with real HTTP requests carrying Origin headers, as a browser sends them: a configured
// origin is allowed (and only it is ever written back), a preflight is answered without a key,
// another origin gets no allow headers, and every answer varies on Origin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const allowed = 'https://app.example.com';
const other = 'https://evil.example.net';

describe('CORS for browser apps', () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ mock, overrides: { 'cors.origins': [allowed, 'http://localhost:5173'] } });
  }, 600_000);

  afterAll(async () => {
    await gw?.close();
    await mock?.close();
  });

  const preflight = (origin: string, path = '/v1/chat/completions') =>
    fetch(`${gw.url}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });

  const chat = (origin: string, key = gw.key) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { origin, authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('answers a preflight from a configured origin with 204 and no key', async () => {
    const res = await preflight(allowed);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('vary')).toContain('Origin');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('lets a configured origin read a metered answer and its request id', async () => {
    const res = await chat(allowed);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(res.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(res.headers.get('vary')).toContain('Origin');
    await res.text();
  });

  it('carries the allow header on error answers too, so the browser app can read the error', async () => {
    const res = await chat(allowed, 'sk-not-a-key');
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
  });

  it('never writes back an origin it was not configured with, nor *', async () => {
    for (const origin of [other, 'null', `${allowed}.evil.net`, 'https://APP.example.com', `${allowed}:443`]) {
      const pre = await preflight(origin);
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      expect(pre.headers.get('access-control-allow-headers')).toBeNull();
      expect(pre.headers.get('vary')).toContain('Origin');
      const res = await chat(origin);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('vary')).toContain('Origin');
      await res.text();
    }
  });

  it('leaves the admin API without CORS headers', async () => {
    const res = await fetch(`${gw.url}/admin/v1/orgs`, { method: 'OPTIONS', headers: { origin: allowed, 'access-control-request-method': 'GET' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    await res.text();
  });

  it('refuses "*" and paths in cors.origins at config load, naming the entry', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    expect(() => loadConfig({ overrides: { 'cors.origins': ['*'] } })).toThrow(/cors\.origins\[0\]: must be an origin/);
    expect(() => loadConfig({ overrides: { 'cors.origins': ['https://app.example.com/'] } })).toThrow(/cors\.origins\[0\]/);
  });
});
