// IP allow-lists per key and per org, honoured behind a trusted proxy. The gateway listens on both
// stacks: 127.0.0.1 is the configured trusted proxy, ::1 an untrusted peer. Attacks: an untrusted
// peer spoofing X-Forwarded-For, a forged hop left of an untrusted one, a key used from outside its
// list; each must get a provider-shaped 403 ip_not_allowed. (Written before the feature: it failed
// on the code before it, where no allow-list existed and every one of these requests was served.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { createAdminKey } from '../../src/control/admin-keys.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { setupChange } from '../admin/support.js';
import { runCli } from '../helpers/processes.js';

describe('IP allow-lists', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let port: number;
  let adminToken: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ mock, overrides: { 'server.host': '::', 'network.trustedProxies': ['127.0.0.1/32', '10.1.0.0/16'] } });
    port = new URL(gw.url).port as unknown as number;
    adminToken = (await createAdminKey(gw.app.database.db, setupChange, { name: 'ip-test', role: 'admin' })).key;
  }, 600_000);

  afterAll(async () => {
    await gw?.close();
    await mock?.close();
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await request(`http://127.0.0.1:${port}/admin/v1${path}`, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, body: (await res.body.json()) as any };
  };

  // From the trusted proxy (127.0.0.1) or the untrusted peer (::1), with an optional X-Forwarded-For.
  const chat = async (key: string, from: 'proxy' | 'untrusted', forwardedFor?: string, anthropic = false) => {
    const host = from === 'proxy' ? '127.0.0.1' : '[::1]';
    const res = await request(`http://${host}:${port}${anthropic ? '/v1/messages' : '/v1/chat/completions'}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        ...(anthropic ? { 'anthropic-version': '2023-06-01' } : {}),
        ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
      },
      body: JSON.stringify(anthropic ? { model: 'claude-3-5-haiku-latest', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] } : { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    return { status: res.statusCode, body: (await res.body.json()) as any };
  };

  const refused = { status: 403, body: { error: { code: 'ip_not_allowed', type: 'permission_error' } } };

  it("serves a key from inside its list and refuses it from outside, with a provider-shaped 403", async () => {
    const key = await gw.newKey({ user: 'kim' });
    const set = await admin('PUT', '/ip-allow-lists', { scope: 'key', scopeId: key.id, cidrs: ['203.0.113.0/24', '2001:db8:1::/48'] });
    expect(set).toMatchObject({ status: 200, body: { scope: 'key', scopeId: key.id, cidrs: ['203.0.113.0/24', '2001:db8:1::/48'] } });
    expect((await chat(key.key, 'proxy', '203.0.113.9')).status).toBe(200);
    expect((await chat(key.key, 'proxy', '2001:db8:1::42')).status).toBe(200);
    expect(await chat(key.key, 'proxy', '198.51.100.4')).toMatchObject(refused);
    // No X-Forwarded-For: the client is the proxy itself, which is not on the list.
    expect(await chat(key.key, 'proxy')).toMatchObject(refused);
    // The Anthropic dialect gets its own error shape with the same code.
    expect(await chat(key.key, 'proxy', '198.51.100.4', true)).toMatchObject({ status: 403, body: { type: 'error', error: { type: 'permission_error' } } });
    // Another key of the same org has no list of its own: untouched.
    expect((await chat(gw.key, 'proxy', '198.51.100.4')).status).toBe(200);
  });

  it('ignores X-Forwarded-For spoofed by a peer that is not a trusted proxy', async () => {
    const key = await gw.newKey({ user: 'lee' });
    await admin('PUT', '/ip-allow-lists', { scope: 'key', scopeId: key.id, cidrs: ['203.0.113.0/24'] });
    expect(await chat(key.key, 'untrusted', '203.0.113.9')).toMatchObject(refused);
    expect(await chat(key.key, 'untrusted', '203.0.113.9, 127.0.0.1')).toMatchObject(refused);
  });

  it('reads X-Forwarded-For from the right, skipping only trusted hops', async () => {
    const key = await gw.newKey({ user: 'max' });
    await admin('PUT', '/ip-allow-lists', { scope: 'key', scopeId: key.id, cidrs: ['203.0.113.0/24'] });
    // client -> 10.1.2.3 (a trusted inner proxy) -> 127.0.0.1 (trusted): the client is 203.0.113.9.
    expect((await chat(key.key, 'proxy', '203.0.113.9, 10.1.2.3')).status).toBe(200);
    // A forged allowed address left of an untrusted hop: the untrusted hop is the client.
    expect(await chat(key.key, 'proxy', '203.0.113.9, 198.51.100.4')).toMatchObject(refused);
    expect(await chat(key.key, 'proxy', '203.0.113.9, 198.51.100.4, 10.1.2.3')).toMatchObject(refused);
    // Garbage in the header is never an allowed client.
    expect(await chat(key.key, 'proxy', 'not-an-ip')).toMatchObject(refused);
  });

  it("applies an org's list to every key of the org, together with a key's own list", async () => {
    const other = await gw.newKey({ org: 'fenced', user: 'ned' });
    const second = await gw.newKey({ org: 'fenced', user: 'oli' });
    const org = await admin('PUT', '/ip-allow-lists', { scope: 'org', scopeId: other.orgId, cidrs: ['2001:db8::/32', '192.0.2.0/24'] });
    expect(org.status).toBe(200);
    expect((await chat(other.key, 'proxy', '2001:db8:ffff::1')).status).toBe(200);
    expect((await chat(second.key, 'proxy', '192.0.2.77')).status).toBe(200);
    expect(await chat(second.key, 'proxy', '203.0.113.9')).toMatchObject(refused);
    // A key list narrower than the org's: both must admit.
    await admin('PUT', '/ip-allow-lists', { scope: 'key', scopeId: second.id, cidrs: ['192.0.2.0/28'] });
    expect((await chat(second.key, 'proxy', '192.0.2.3')).status).toBe(200);
    expect(await chat(second.key, 'proxy', '192.0.2.77')).toMatchObject(refused);
    // Deleting the org's list lifts it.
    expect((await admin('DELETE', `/ip-allow-lists/${org.body.id}`)).status).toBe(200);
    expect((await chat(other.key, 'proxy', '203.0.113.9')).status).toBe(200);
  });

  it('refuses a list with an entry that is not a CIDR, naming it', async () => {
    const res = await admin('PUT', '/ip-allow-lists', { scope: 'key', scopeId: gw.created.id, cidrs: ['10.0.0.0/8', '300.1.1.1/8'] });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', param: expect.stringContaining('cidrs') } } });
    expect((await admin('PUT', '/ip-allow-lists', { scope: 'key', scopeId: gw.created.id, cidrs: ['10.0.0.0/33'] })).status).toBe(400);
    expect((await admin('PUT', '/ip-allow-lists', { scope: 'key', scopeId: gw.created.id, cidrs: [] })).status).toBe(400);
  });

  it('tollgate ip-allow set, list and delete work through the admin API', async () => {
    const key = await gw.newKey({ user: 'cli' });
    const online = { TOLLGATE_URL: `http://127.0.0.1:${port}`, TOLLGATE_ADMIN_KEY: adminToken };
    const set = await runCli(['ip-allow', 'set', '--org', gw.created.orgId, '--key', key.id, '203.0.113.0/24', '2001:db8::1', '--json'], online);
    expect(set.code, set.stderr).toBe(0);
    const stored = JSON.parse(set.stdout) as { id: string; cidrs: string[] };
    expect(stored).toMatchObject({ scope: 'key', scopeId: key.id, cidrs: ['203.0.113.0/24', '2001:db8::1/128'] });
    expect(await chat(key.key, 'proxy', '198.51.100.9')).toMatchObject(refused);
    const list = await runCli(['ip-allow', 'list', '--org', gw.created.orgId], online);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^id\s+scope\s+scopeId\s+cidrs/);
    expect(list.stdout).toContain(stored.id);
    const bad = await runCli(['ip-allow', 'set', '--org', gw.created.orgId, '--key', key.id, '10.0.0.0/33'], online);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('CIDR');
    const deleted = await runCli(['ip-allow', 'delete', stored.id], online);
    expect(deleted.code, deleted.stderr).toBe(0);
    await expect.poll(async () => (await chat(key.key, 'proxy', '198.51.100.9')).status, { timeout: 5_000 }).toBe(200);
  }, 180_000);
});
