// Finding 3 of the security review: budget rules kept in the control plane belong to one org. A
// '*' rule of org A must never refuse, count or limit a principal of org B; config-file '*' rules
// stay the defaults of every org. Also: a session budget may require x-session-id.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { smallChat } from '../helpers/requests.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let mock: MockUpstream;
let gw: TestGateway;

// Config default for every org: 4 requests per user per hour (nothing else is limited by config).
beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({
    mock,
    overrides: { 'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'requests', window: 'hour', limit: 4 }] },
  });
});

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

async function chat(key: string, headers: Record<string, string> = {}) {
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ ...smallChat, max_tokens: 5 }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: JSON.parse(text) as unknown };
}

const statuses = async (key: string, n: number): Promise<number[]> => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await chat(key)).status);
  return out;
};

// The embedded bus applies a change on a later turn; a short pause lets every replica reload.
const rulesReloaded = () => new Promise((r) => setTimeout(r, 300));
const putBudget = (body: Record<string, unknown>) => gw.admin.call<{ id: string }>('PUT', '/budgets', { body });

describe('budget rules keep their org', () => {
  it("org A's '*' user rule does not refuse org B's user", async () => {
    const a = await gw.newKey({ org: 'refuse-a', user: 'alice' });
    const b = await gw.newKey({ org: 'refuse-b', user: 'bob' });
    await putBudget({ scope: 'user', scopeId: '*', orgId: a.orgId, metric: 'tokens', window: 'day', limit: 0 });
    await expect.poll(async () => (await chat(a.key)).status, { timeout: 2_000, interval: 25 }).toBe(429);
    expect(await chat(b.key)).toMatchObject({ status: 200 });
  });

  it("two orgs with same-shaped '*' rules each get their own counter and limit", async () => {
    const a = await gw.newKey({ org: 'shape-a', user: 'alice' });
    const b = await gw.newKey({ org: 'shape-b', user: 'bob' });
    await putBudget({ scope: 'user', scopeId: '*', orgId: a.orgId, metric: 'requests', window: 'day', limit: 1 });
    await putBudget({ scope: 'user', scopeId: '*', orgId: b.orgId, metric: 'requests', window: 'day', limit: 3 });
    await rulesReloaded();
    // Org B's user gets its own limit of 3 (not A's 1), counted once per request (not twice).
    expect(await statuses(b.key, 4)).toEqual([200, 200, 200, 429]);
    // Org A's user still has its own counter, untouched by B's requests.
    expect(await statuses(a.key, 2)).toEqual([200, 429]);
    const refused = await chat(a.key);
    expect(refused.body).toMatchObject({ error: { code: 'budget_exceeded' } });
  });

  it("config '*' rules still apply to every org; an org's own '*' rule replaces the default only for that org", async () => {
    const a = await gw.newKey({ org: 'default-a', user: 'alice' });
    const b = await gw.newKey({ org: 'default-b', user: 'bob' });
    // Org A sets its own user requests/hour rule; the config default (4) must stay for org B.
    await putBudget({ scope: 'user', scopeId: '*', orgId: a.orgId, metric: 'requests', window: 'hour', limit: 6 });
    await rulesReloaded();
    expect(await statuses(b.key, 5)).toEqual([200, 200, 200, 200, 429]);
    expect(await statuses(a.key, 7)).toEqual([200, 200, 200, 200, 200, 200, 429]);
  });

  it("a budget cannot name another org's id, nor an org that does not exist", async () => {
    const a = await gw.newKey({ org: 'cross-a', user: 'alice' });
    const b = await gw.newKey({ org: 'cross-b', user: 'bob' });
    // The org scope's id is the org itself: naming another org while passing orgId is refused.
    await expect(putBudget({ scope: 'org', scopeId: b.orgId, orgId: a.orgId, metric: 'tokens', window: 'day', limit: 1 })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
    await expect(putBudget({ scope: 'user', scopeId: b.userId, orgId: a.orgId, metric: 'tokens', window: 'day', limit: 1 })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
    await expect(putBudget({ scope: 'org', scopeId: 'org_doesnotexist', metric: 'tokens', window: 'day', limit: 1 })).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await expect(putBudget({ scope: 'user', scopeId: '*', orgId: 'org_doesnotexist', metric: 'tokens', window: 'day', limit: 1 })).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('session budgets', () => {
  it('a session budget with requireSession refuses a request without x-session-id (400 session_required)', async () => {
    const a = await gw.newKey({ org: 'session-a', user: 'alice' });
    const b = await gw.newKey({ org: 'session-b', user: 'bob' });
    await putBudget({ scope: 'key', scopeId: '*', orgId: a.orgId, metric: 'tokens', window: 'session', limit: 10_000, requireSession: true });
    await expect.poll(async () => (await chat(a.key)).status, { timeout: 2_000, interval: 25 }).toBe(400);
    expect(await chat(a.key)).toMatchObject({ status: 400, body: { error: { code: 'session_required', type: 'invalid_request_error' } } });
    expect(await chat(a.key, { 'x-session-id': 'chat-1' })).toMatchObject({ status: 200 });
    // Another org's principals are not affected.
    expect(await chat(b.key)).toMatchObject({ status: 200 });
  });

  it('refuses requireSession on a window other than session', async () => {
    const a = await gw.newKey({ org: 'session-c', user: 'alice' });
    await expect(putBudget({ scope: 'key', scopeId: '*', orgId: a.orgId, metric: 'tokens', window: 'day', limit: 1, requireSession: true })).rejects.toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
  });
});

describe('empty PATCH bodies', () => {
  it('PATCH /budgets/:id with {} is a 400 invalid_request, not a 500', async () => {
    const a = await gw.newKey({ org: 'patch-a', user: 'alice' });
    const { id } = await putBudget({ scope: 'user', scopeId: a.userId, metric: 'tokens', window: 'month', limit: 100 });
    await expect(gw.admin.call('PATCH', `/budgets/${id}`, { body: {} })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('PATCH /teams/:id with {} is a 400 invalid_request, not a 500', async () => {
    const a = await gw.newKey({ org: 'patch-b', team: 'patchers', user: 'alice' });
    await expect(gw.admin.call('PATCH', `/teams/${a.teamId}`, { body: {} })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
  });
});
