// Attacks by a developer on the limits set for their keys: lifting an admin-set model allow list
// or expiry, minting keys beyond their policy, minting keys without end, and inventing scopes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { type AdminFixture, startAdminFixture } from '../admin/support.js';

let mock: MockUpstream;
let f: AdminFixture;
const maxKeys = 4;

beforeAll(async () => {
  mock = await startMockUpstream();
  f = await startAdminFixture(mock, { overrides: { 'admin.maxKeysPerUser': maxKeys } });
});

afterAll(async () => {
  await f?.gw.close();
  await mock?.close();
});

const forbidden = (param: string) => ({ error: { code: 'forbidden', type: 'permission_error', param } });
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

describe('a developer cannot lift limits an admin set on their key', () => {
  it.each([
    ['allowedModels', { allowedModels: null }],
    ['expiresAt', { expiresAt: null }],
    ['scopes', { scopes: ['chat', 'embeddings'] }],
  ])('refuses a PATCH of %s on their own key', async (field, patch) => {
    const created = await f.call('POST', '/keys', f.tokens.admin, { userId: f.users.dev, allowedModels: ['gpt-4o-mini'], expiresAt: inDays(1), scopes: ['chat'] });
    expect(created.status, created.text).toBe(201);
    const res = await f.call('PATCH', `/keys/${created.body.id}`, f.tokens.developer, patch);
    expect(res.status, res.text).toBe(403);
    expect(res.body).toMatchObject(forbidden(field));
    const after = await f.call('GET', `/keys/${created.body.id}`, f.tokens.admin);
    expect(after.body).toMatchObject({ allowedModels: ['gpt-4o-mini'], scopes: ['chat'], expiresAt: created.body.expiresAt });
    // Revoked so the key cap below starts from the fixture's one key.
    await f.call('POST', `/keys/${created.body.id}/revoke`, f.tokens.admin);
  });

  it('still lets the developer rename their key', async () => {
    const res = await f.call('PATCH', `/keys/${f.devKeyId}`, f.tokens.developer, { name: 'renamed laptop' });
    expect(res.status, res.text).toBe(200);
  });
});

describe('a developer creates keys only within the policy set for them', () => {
  beforeAll(async () => {
    const res = await f.call('PATCH', `/users/${f.users.dev}`, f.tokens.manager, { keyPolicy: { allowedModels: ['gpt-4o-mini'], maxLifetimeDays: 7, scopes: ['chat', 'embeddings'] } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.keyPolicy).toEqual({ allowedModels: ['gpt-4o-mini'], maxLifetimeDays: 7, scopes: ['chat', 'embeddings'] });
  });

  it("refuses the developer setting their own policy", async () => {
    const res = await f.call('PATCH', `/users/${f.users.dev}`, f.tokens.developer, { keyPolicy: null });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { code: 'forbidden' } });
  });

  it('gives a key created without limits the limits of the policy', async () => {
    const res = await f.call('POST', '/keys', f.tokens.developer, { userId: f.users.dev, name: 'inherits' });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ allowedModels: ['gpt-4o-mini'], scopes: ['chat', 'embeddings'] });
    const expiresMs = Date.parse(res.body.expiresAt);
    expect(expiresMs).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    expect(expiresMs).toBeLessThanOrEqual(Date.now() + 7 * 86_400_000);
    await f.call('POST', `/keys/${res.body.id}/revoke`, f.tokens.developer);
  });

  it.each([
    ['allowedModels', { allowedModels: ['gpt-4o'] }],
    ['allowedModels', { allowedModels: null }],
    ['expiresAt', { expiresAt: inDays(30) }],
    ['expiresAt', { expiresAt: null }],
    ['scopes', { scopes: ['files'] }],
    ['scopes', { scopes: [] }],
  ])('refuses a new key whose %s reaches beyond the policy', async (field, attrs) => {
    const res = await f.call('POST', '/keys', f.tokens.developer, { userId: f.users.dev, ...attrs });
    expect(res.status, res.text).toBe(403);
    expect(res.body).toMatchObject(forbidden(field));
  });

  it('accepts a new key narrower than the policy', async () => {
    const res = await f.call('POST', '/keys', f.tokens.developer, { userId: f.users.dev, allowedModels: ['gpt-4o-mini'], expiresAt: inDays(2), scopes: ['chat'] });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ allowedModels: ['gpt-4o-mini'], scopes: ['chat'] });
    await f.call('POST', `/keys/${res.body.id}/revoke`, f.tokens.developer);
  });

  it('lets a manager give a key of their team wider limits than the developer policy', async () => {
    const res = await f.call('POST', '/keys', f.tokens.manager, { userId: f.users.dev, allowedModels: null, scopes: ['files'] });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ allowedModels: null, scopes: ['files'] });
    await f.call('POST', `/keys/${res.body.id}/revoke`, f.tokens.manager);
  });
});

describe('key scopes', () => {
  it('refuses a scope that names no endpoint family of the gateway', async () => {
    for (const scopes of [['admin'], ['chat', '*'], ['Chat']]) {
      const res = await f.call('POST', '/keys', f.tokens.admin, { userId: f.users.olga, scopes });
      expect(res.status, `${scopes}: ${res.text}`).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'invalid_request', param: expect.stringMatching(/^scopes/) } });
    }
  });
});

describe('keys per user', () => {
  it(`a user cannot hold more than admin.maxKeysPerUser (${maxKeys}) active keys`, async () => {
    const active = async () => (await f.call('GET', `/keys?userId=${f.users.dev}&active=true&limit=1000`, f.tokens.admin)).body.data.length as number;
    const before = await active();
    const made: string[] = [];
    for (let i = before; i < maxKeys; i++) {
      const res = await f.call('POST', '/keys', f.tokens.developer, { userId: f.users.dev });
      expect(res.status, res.text).toBe(201);
      made.push(res.body.id);
    }
    const over = await f.call('POST', '/keys', f.tokens.developer, { userId: f.users.dev });
    expect(over.status, over.text).toBe(409);
    expect(over.body).toMatchObject({ error: { code: 'key_limit_reached' } });
    // Admins are held to the same cap: it bounds what one user's keys can be.
    expect((await f.call('POST', '/keys', f.tokens.admin, { userId: f.users.dev })).status).toBe(409);

    await f.call('POST', `/keys/${made[0]}/revoke`, f.tokens.developer);
    expect((await f.call('POST', '/keys', f.tokens.developer, { userId: f.users.dev })).status).toBe(201);
  });

  it('parallel creations cannot race past the cap', async () => {
    const user = await f.call('POST', '/users', f.tokens.admin, { orgId: f.orgId, name: 'racer', teamId: f.teams.ml });
    const results = await Promise.all(Array.from({ length: maxKeys * 3 }, () => f.call('POST', '/keys', f.tokens.admin, { userId: user.body.id })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(maxKeys);
    expect(results.filter((r) => r.status === 409)).toHaveLength(maxKeys * 2);
  });
});
