// Behaviour of the admin API beyond who may call it: key rotation and revocation on the data
// plane, idempotent budget changes, templates, the quota workflow and the audit trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { loadBudgetRules } from '../../src/control/budgets.js';
import { type AdminFixture, startAdminFixture } from './support.js';
import { chatStatus } from '../helpers/requests.js';

let mock: MockUpstream;
let f: AdminFixture;

beforeAll(async () => {
  mock = await startMockUpstream();
  f = await startAdminFixture(mock, { overrides: { 'admin.lastUsedFlushMs': 200 } });
});

afterAll(async () => {
  await f?.gw.close();
  await mock?.close();
});

const chat = (key: string) => chatStatus(f.gw.url, key);

describe('keys', () => {
  it('shows the plaintext once, keeps the old key working through the rotation grace period, then refuses it', async () => {
    const created = await f.call('POST', '/keys', f.tokens.admin, { userId: f.users.dev, allowedModels: ['gpt-4o-mini'], metadata: { app: 'notebook' } });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^tg-/);
    expect(created.body.hash).toBeUndefined();
    expect((await f.call('GET', `/keys/${created.body.id}`, f.tokens.admin)).body.key).toBeUndefined();
    await expect.poll(() => chat(created.body.key)).toBe(200);

    const rotated = await f.call('POST', `/keys/${created.body.id}/rotate`, f.tokens.admin, { graceMs: 500 });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key).toMatchObject({ allowedModels: ['gpt-4o-mini'], metadata: { app: 'notebook', rotatedFrom: created.body.id } });
    await expect.poll(() => chat(rotated.body.key.key)).toBe(200);
    expect(await chat(created.body.key)).toBe(200);
    await expect.poll(() => chat(created.body.key), { timeout: 2_000, interval: 50 }).toBe(401);
    expect(await chat(rotated.body.key.key)).toBe(200);
  });

  it('refuses a revoked key at once', async () => {
    const created = await f.call('POST', '/keys', f.tokens.developer, { userId: f.users.dev });
    await expect.poll(() => chat(created.body.key)).toBe(200);
    expect((await f.call('POST', `/keys/${created.body.id}/revoke`, f.tokens.developer)).status).toBe(200);
    await expect.poll(() => chat(created.body.key), { timeout: 1_000, interval: 25 }).toBe(401);
  });

  it('stamps last_used_at within one flush interval of use', async () => {
    const created = await f.call('POST', '/keys', f.tokens.admin, { userId: f.users.dev });
    expect(created.body.lastUsedAt).toBeNull();
    await expect.poll(() => chat(created.body.key)).toBe(200);
    await expect.poll(async () => (await f.call('GET', `/keys/${created.body.id}`, f.tokens.admin)).body.lastUsedAt, { timeout: 2_000 }).not.toBeNull();
  });
});

describe('budgets', () => {
  it('updates the same rule when set twice (never adds a second one) and publishes the change', async () => {
    const rule = { scope: 'user', scopeId: f.users.olga, metric: 'tokens', window: 'day', limit: 1000 };
    const first = await f.call('PUT', '/budgets', f.tokens.admin, rule);
    const second = await f.call('PUT', '/budgets', f.tokens.admin, { ...rule, limit: 3000 });
    expect(second.body.id).toBe(first.body.id);
    const rules = await loadBudgetRules(f.gw.app.database.db);
    expect(rules.budgets.filter((b) => b.scopeId === f.users.olga)).toEqual([expect.objectContaining({ limit: 3000, warnPct: 80, criticalPct: 95, timezone: 'UTC' })]);
  });

  it('applies a template idempotently, with its thresholds', async () => {
    await f.call('POST', '/budget-templates/enterprise/apply', f.tokens.admin, { scope: 'team', scopeId: f.teams.sales });
    const again = await f.call('POST', '/budget-templates/enterprise/apply', f.tokens.admin, { scope: 'team', scopeId: f.teams.sales });
    expect(again.body.data.map((b: { window: string; limit: number }) => [b.window, b.limit])).toEqual([['day', 100_000], ['month', 3_000_000], ['total', 10_000_000]]);
    const listed = await f.call('GET', `/budgets?scope=team&scopeId=${f.teams.sales}`, f.tokens.admin);
    expect(listed.body.data).toHaveLength(3);
    expect(listed.body.data.every((b: { warnPct: number; criticalPct: number }) => b.warnPct === 90 && b.criticalPct === 98)).toBe(true);
  });

  it('refuses a custom template that reuses a built-in name', async () => {
    const res = await f.call('PUT', '/budget-templates/basic_user', f.tokens.admin, { rules: [{ metric: 'tokens', window: 'day', limit: 1 }] });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: { code: 'conflict' } });
  });
});

describe('quota requests', () => {
  it('raises the budget by the amount on approval and refuses to decide twice', async () => {
    const budget = await f.call('PUT', '/budgets', f.tokens.admin, { scope: 'user', scopeId: f.users.dev, metric: 'tokens', window: 'month', limit: 10_000 });
    const submitted = await f.call('POST', '/quota-requests', f.tokens.developer, { budgetId: budget.body.id, amount: 5_000, justification: 'eval run' });
    expect(submitted.body).toMatchObject({ status: 'pending', userId: f.users.dev });
    const approved = await f.call('POST', `/quota-requests/${submitted.body.id}/approve`, f.tokens.manager);
    expect(approved.body).toMatchObject({ status: 'approved' });
    expect((await f.call('GET', `/budgets/${budget.body.id}`, f.tokens.admin)).body.limit).toBe(15_000);
    const again = await f.call('POST', `/quota-requests/${submitted.body.id}/deny`, f.tokens.manager, { reason: 'late' });
    expect(again.status).toBe(409);
  });

  it('keeps a denial with its reason in the history', async () => {
    const budget = await f.call('PUT', '/budgets', f.tokens.admin, { scope: 'user', scopeId: f.users.dev, metric: 'requests', window: 'day', limit: 100 });
    const submitted = await f.call('POST', '/quota-requests', f.tokens.developer, { budgetId: budget.body.id, amount: 50, justification: 'demo' });
    await f.call('POST', `/quota-requests/${submitted.body.id}/deny`, f.tokens.admin, { reason: 'use the sandbox' });
    const history = await f.call('GET', '/quota-requests?status=denied', f.tokens.developer);
    expect(history.body.data).toContainEqual(expect.objectContaining({ id: submitted.body.id, reason: 'use the sandbox' }));
  });

  it('refuses a request on a budget that does not apply to the requester', async () => {
    const budget = await f.call('PUT', '/budgets', f.tokens.admin, { scope: 'user', scopeId: f.users.olga, metric: 'requests', window: 'day', limit: 5 });
    const res = await f.call('POST', '/quota-requests', f.tokens.developer, { budgetId: budget.body.id, amount: 1, justification: 'x' });
    expect(res.status).toBe(400);
  });
});

describe('audit log', () => {
  it('records each mutation with actor, before, after and request id, and never key material', async () => {
    const created = await f.call('POST', '/users', f.tokens.admin, { orgId: f.orgId, name: 'audited' });
    await f.call('PATCH', `/users/${created.body.id}`, f.tokens.admin, { email: 'a@example.com' });
    const key = await f.call('POST', '/keys', f.tokens.admin, { userId: created.body.id });
    const log = await f.call('GET', `/audit?resourceId=${created.body.id}`, f.tokens.analyst);
    expect(log.body.data.map((e: { action: string }) => e.action)).toEqual(['user.update', 'user.create']);
    expect(log.body.data[0]).toMatchObject({ actorType: 'admin_key', actorRole: 'admin', before: { email: null }, after: { email: 'a@example.com' }, requestId: expect.any(String) });
    const exported = await f.call('GET', '/audit/export?format=jsonl', f.tokens.admin);
    expect(exported.text).toContain(key.body.id);
    expect(exported.text).not.toContain(key.body.key);
    expect(exported.text).not.toContain('"hash"');
  });

  it('rejects a body that fails validation with a message naming the field', async () => {
    const res = await f.call('PUT', '/budgets', f.tokens.admin, { scope: 'user', scopeId: f.users.dev, metric: 'tokens', window: 'fortnight', limit: 1 });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'invalid_request', param: 'window', message: expect.stringContaining('body.window') } });
  });
});
