// The shared RBAC suite: every admin route, as every role and with no credentials. Allowed roles
// must get past authorisation (no 401/403); the others get 403 forbidden; no credentials get 401.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { adminRoutes } from '../../src/admin/routes/index.js';
import { createChannel, createRoute } from '../../src/alerts/channel-store.js';
import { alertsSchema } from '../../src/alerts/config.js';
import { createAlertStore } from '../../src/alerts/store.js';
import { roles, type Role } from '../../src/control/actor.js';
import { createAdminKey } from '../../src/control/admin-keys.js';
import { upsertBudget } from '../../src/control/budgets.js';
import { upsertLimit } from '../../src/control/limits.js';
import { putIpAllowList } from '../../src/control/ip-allow-lists.js';
import { createApiKey } from '../../src/control/keys.js';
import { submitQuotaRequest } from '../../src/control/quota-requests.js';
import { putTemplate } from '../../src/control/templates.js';
import { createUser } from '../../src/control/users.js';
import { createSchedule } from '../../src/reports/schedules.js';
import { type AdminFixture, setupChange, startAdminFixture } from './support.js';

let mock: MockUpstream;
let f: AdminFixture;
let devBudgetId: string;
let teamBudgetId: string;
let requestId: string;
let routeChannelId: string;
let n = 0;
const unique = (label: string) => `${label}${++n}`;

beforeAll(async () => {
  mock = await startMockUpstream();
  f = await startAdminFixture(mock);
  const db = f.gw.app.database.db;
  devBudgetId = (await upsertBudget(db, f.gw.app.bus, setupChange, f.orgId, { scope: 'user', scopeId: f.users.dev, metric: 'tokens', window: 'day', limit: 1000 })).id;
  teamBudgetId = (await upsertBudget(db, f.gw.app.bus, setupChange, f.orgId, { scope: 'team', scopeId: f.teams.research, metric: 'tokens', window: 'month', limit: 9000 })).id;
  requestId = (await submitQuotaRequest(db, setupChange, { userId: f.users.dev, budgetId: devBudgetId, amount: 10, justification: 'more' })).id;
  routeChannelId = (await createChannel(db, f.orgId, { type: 'console', name: 'routes' }, false)).id;
});

afterAll(async () => {
  await f?.gw.close();
  await mock?.close();
});

interface Case {
  method: string;
  path: string | (() => Promise<string>);
  body?: (role: Role) => unknown;
  allowed: readonly Role[];
}

const all = roles;
const readers: Role[] = ['admin', 'manager', 'analyst', 'viewer'];
const everyone: Role[] = ['admin', 'manager', 'analyst', 'developer', 'viewer'];
const managers: Role[] = ['admin', 'manager'];
const db = () => f.gw.app.database.db;
const freshUser = async () => (await createUser(db(), setupChange, { orgId: f.orgId, name: unique('sam'), teamId: f.teams.ml })).id;
// An alert of the developer in team ml (under the manager's research), so every reading role reaches it.
const freshAlert = async () =>
  (await createAlertStore({ db: db(), config: alertsSchema.parse({}) }).raise({ fingerprint: unique('rbac:'), source: 'test', name: 'test.rbac', severity: 'low', summary: 'rbac', orgId: f.orgId, teamId: f.teams.ml, userId: f.users.dev })).alertId;
const freshChannel = async (type: 'console' | 'webhook' = 'console') =>
  (await createChannel(db(), f.orgId, type === 'console' ? { type, name: unique('ch') } : { type, name: unique('hook'), url: 'https://hooks.example.com/tollgate' }, false)).id;
const freshRoute = async () => (await createRoute(db(), f.orgId, { channelId: await freshChannel(), teamId: null, source: null, minSeverity: 'low', step: 0 })).id;
const freshDevKey = async () => (await createApiKey(db(), f.gw.app.bus, setupChange, f.users.dev, {})).id;
const freshSchedule = async () => (await createSchedule(db(), setupChange, { orgId: f.orgId, teamId: null, name: unique('digest'), cadence: 'weekly', tz: 'UTC', channelIds: [routeChannelId], top: 10, enabled: false }, false)).id;

const cases: Case[] = [
  { method: 'GET', path: '/orgs', allowed: readers },
  { method: 'POST', path: '/orgs', body: () => ({ name: unique('org') }), allowed: ['admin'] },
  { method: 'GET', path: () => Promise.resolve(`/orgs/${f.orgId}`), allowed: readers },
  { method: 'GET', path: '/teams', allowed: readers },
  { method: 'POST', path: '/teams', body: () => ({ orgId: f.orgId, name: unique('team'), parentId: f.teams.research }), allowed: managers },
  { method: 'GET', path: () => Promise.resolve(`/teams/${f.teams.ml}`), allowed: readers },
  { method: 'PATCH', path: () => Promise.resolve(`/teams/${f.teams.ml}`), body: () => ({ name: unique('ml') }), allowed: managers },
  { method: 'GET', path: () => Promise.resolve(`/teams/${f.teams.ml}/members`), allowed: readers },
  { method: 'PUT', path: async () => `/teams/${f.teams.ml}/members/${await freshUser()}`, allowed: managers },
  { method: 'DELETE', path: async () => `/teams/${f.teams.ml}/members/${await freshUser()}`, allowed: managers },
  { method: 'GET', path: '/users', allowed: everyone },
  { method: 'POST', path: '/users', body: () => ({ orgId: f.orgId, name: unique('u'), teamId: f.teams.ml }), allowed: managers },
  { method: 'POST', path: '/users/import', body: () => ({ orgId: f.orgId, csv: `name,team\n${unique('imp')},ml\n` }), allowed: managers },
  { method: 'GET', path: () => Promise.resolve(`/users/${f.users.dev}`), allowed: everyone },
  { method: 'PATCH', path: async () => `/users/${await freshUser()}`, body: () => ({ email: 'x@example.com' }), allowed: managers },
  { method: 'POST', path: async () => `/users/${await freshUser()}/deactivate`, allowed: managers },
  { method: 'POST', path: async () => `/users/${await freshUser()}/activate`, allowed: managers },
  { method: 'GET', path: async () => `/users/${await freshUser()}/export`, allowed: ['admin'] },
  { method: 'POST', path: async () => `/users/${await freshUser()}/erase`, allowed: ['admin'] },
  { method: 'GET', path: '/keys', allowed: everyone },
  { method: 'POST', path: '/keys', body: () => ({ userId: f.users.dev }), allowed: ['admin', 'manager', 'developer'] },
  { method: 'GET', path: () => Promise.resolve(`/keys/${f.devKeyId}`), allowed: everyone },
  { method: 'PATCH', path: async () => `/keys/${await freshDevKey()}`, body: () => ({ metadata: { env: 'ci' } }), allowed: ['admin', 'manager', 'developer'] },
  { method: 'POST', path: async () => `/keys/${await freshDevKey()}/revoke`, allowed: ['admin', 'manager', 'developer'] },
  { method: 'POST', path: async () => `/keys/${await freshDevKey()}/rotate`, allowed: ['admin', 'manager', 'developer'] },
  { method: 'GET', path: '/admin-keys', allowed: ['admin'] },
  { method: 'POST', path: '/admin-keys', body: () => ({ name: 'ci', role: 'viewer' }), allowed: ['admin'] },
  { method: 'POST', path: async () => `/admin-keys/${(await createAdminKey(db(), setupChange, { name: 'x', role: 'viewer' })).id}/revoke`, allowed: ['admin'] },
  { method: 'GET', path: '/budgets', allowed: everyone },
  { method: 'PUT', path: '/budgets', body: () => ({ scope: 'user', scopeId: f.users.dev, metric: 'tokens', window: 'month', limit: 5000 }), allowed: managers },
  { method: 'GET', path: () => Promise.resolve(`/budgets/${devBudgetId}`), allowed: everyone },
  { method: 'PATCH', path: () => Promise.resolve(`/budgets/${devBudgetId}`), body: () => ({ limit: 2000 }), allowed: managers },
  {
    method: 'DELETE',
    path: async () => `/budgets/${(await upsertBudget(db(), f.gw.app.bus, setupChange, f.orgId, { scope: 'user', scopeId: f.users.dev, metric: 'requests', window: 'hour', limit: 5 })).id}`,
    allowed: managers,
  },
  { method: 'GET', path: '/budget-templates', allowed: everyone },
  { method: 'GET', path: '/budget-templates/power_user', allowed: everyone },
  { method: 'PUT', path: '/budget-templates/custom_rbac', body: () => ({ rules: [{ metric: 'tokens', window: 'day', limit: 10 }] }), allowed: ['admin'] },
  {
    method: 'DELETE',
    path: async () => {
      const name = unique('tmpl_');
      await putTemplate(db(), setupChange, { name, description: '', rules: [{ metric: 'tokens', window: 'day', limit: 1 }], warnPct: 80, criticalPct: 95 });
      return `/budget-templates/${name}`;
    },
    allowed: ['admin'],
  },
  { method: 'POST', path: '/budget-templates/basic_user/apply', body: () => ({ scope: 'user', scopeId: f.users.dev }), allowed: managers },
  { method: 'GET', path: '/quota-requests', allowed: everyone },
  {
    method: 'POST',
    path: '/quota-requests',
    // The team budget applies to both the manager and the developer; an admin files for a user.
    body: (role) => ({ budgetId: teamBudgetId, amount: 100, justification: 'deadline', ...(role === 'admin' ? { userId: f.users.dev } : {}) }),
    allowed: ['admin', 'manager', 'developer'],
  },
  { method: 'GET', path: () => Promise.resolve(`/quota-requests/${requestId}`), allowed: everyone },
  { method: 'POST', path: async () => `/quota-requests/${(await submitQuotaRequest(db(), setupChange, { userId: f.users.dev, budgetId: devBudgetId, amount: 1, justification: 'x' })).id}/approve`, allowed: managers },
  {
    method: 'POST',
    path: async () => `/quota-requests/${(await submitQuotaRequest(db(), setupChange, { userId: f.users.dev, budgetId: devBudgetId, amount: 1, justification: 'x' })).id}/deny`,
    body: () => ({ reason: 'not now' }),
    allowed: managers,
  },
  { method: 'GET', path: '/audit', allowed: ['admin', 'analyst'] },
  { method: 'GET', path: '/audit/export', allowed: ['admin', 'analyst'] },
  { method: 'GET', path: '/usage?from=2026-11-01&to=2026-11-02&groupBy=team,day&tz=Asia/Kolkata', allowed: everyone },
  // An org report is for org-wide roles; a manager's or developer's report names a team or user in reach.
  { method: 'GET', path: () => Promise.resolve(`/reports?org=${f.orgId}&period=2026-11&format=csv`), allowed: ['admin', 'analyst', 'viewer'] },
  // Everyone reads analytics: a manager gets their teams' lines, a developer their own.
  { method: 'GET', path: () => Promise.resolve(`/analytics?orgId=${f.orgId}`), allowed: everyone },
  { method: 'GET', path: '/alerts?active=true&severity=low', allowed: everyone },
  { method: 'GET', path: async () => `/alerts/${await freshAlert()}`, allowed: everyone },
  { method: 'GET', path: async () => `/alerts/${await freshAlert()}/history`, allowed: everyone },
  { method: 'POST', path: async () => `/alerts/${await freshAlert()}/acknowledge`, allowed: managers },
  { method: 'POST', path: async () => `/alerts/${await freshAlert()}/resolve`, allowed: managers },
  { method: 'GET', path: '/alert-channels', allowed: readers },
  { method: 'POST', path: '/alert-channels', body: () => ({ type: 'console', name: unique('console') }), allowed: ['admin'] },
  { method: 'GET', path: async () => `/alert-channels/${await freshChannel()}`, allowed: readers },
  { method: 'DELETE', path: async () => `/alert-channels/${await freshChannel()}`, allowed: ['admin'] },
  { method: 'POST', path: async () => `/alert-channels/${await freshChannel()}/test`, allowed: ['admin'] },
  { method: 'POST', path: async () => `/alert-channels/${await freshChannel('webhook')}/rotate-secret`, allowed: ['admin'] },
  { method: 'POST', path: async () => `/alert-channels/${await freshChannel()}/enable`, allowed: ['admin'] },
  { method: 'GET', path: '/alert-routes', allowed: readers },
  { method: 'POST', path: '/alert-routes', body: () => ({ channelId: routeChannelId }), allowed: ['admin'] },
  { method: 'DELETE', path: async () => `/alert-routes/${await freshRoute()}`, allowed: ['admin'] },
  { method: 'GET', path: '/limits', allowed: everyone },
  { method: 'PUT', path: '/limits', body: () => ({ scope: 'user', scopeId: f.users.dev, rpm: 600 }), allowed: managers },
  { method: 'DELETE', path: async () => `/limits/${(await upsertLimit(db(), f.gw.app.bus, setupChange, f.orgId, { scope: 'user', scopeId: f.users.dev, tpm: 100_000 })).id}`, allowed: managers },
  { method: 'GET', path: '/ip-allow-lists', allowed: everyone },
  { method: 'PUT', path: '/ip-allow-lists', body: () => ({ scope: 'key', scopeId: f.devKeyId, cidrs: ['10.0.0.0/8'] }), allowed: managers },
  { method: 'DELETE', path: async () => `/ip-allow-lists/${(await putIpAllowList(db(), f.gw.app.bus, setupChange, f.orgId, { scope: 'key', scopeId: await freshDevKey(), cidrs: ['10.0.0.0/8'] })).id}`, allowed: managers },
  { method: 'POST', path: '/chargeback/import', body: () => ({ orgId: f.orgId, csv: 'type,name,cost_center\nuser,dev,CC-1\n' }), allowed: managers },
  { method: 'GET', path: () => Promise.resolve(`/chargeback/export?orgId=${f.orgId}`), allowed: everyone },
  { method: 'GET', path: '/report-schedules', allowed: readers },
  { method: 'POST', path: '/report-schedules', body: () => ({ orgId: f.orgId, name: unique('digest'), cadence: 'daily', channelIds: [routeChannelId], enabled: false }), allowed: ['admin'] },
  { method: 'GET', path: async () => `/report-schedules/${await freshSchedule()}`, allowed: readers },
  { method: 'PATCH', path: async () => `/report-schedules/${await freshSchedule()}`, body: () => ({ top: 5 }), allowed: ['admin'] },
  { method: 'DELETE', path: async () => `/report-schedules/${await freshSchedule()}`, allowed: ['admin'] },
  { method: 'GET', path: async () => `/report-schedules/${await freshSchedule()}/digests`, allowed: readers },
  { method: 'GET', path: '/alert-rules', allowed: readers },
  { method: 'PUT', path: '/alert-rules/health', body: () => ({ minRequests: 20 }), allowed: ['admin'] },
  { method: 'DELETE', path: '/alert-rules/health', allowed: ['admin'] },
];

const resolvePath = (c: Case) => (typeof c.path === 'string' ? Promise.resolve(c.path) : c.path());

it('has one case per admin route, so a new route cannot skip the suite', () => {
  expect(cases.length).toBe(adminRoutes.length);
});

describe.each(cases.map((c) => [`${c.method} ${typeof c.path === 'string' ? c.path : c.path.toString().match(/`([^`]*)`/)?.[1] ?? ''}`, c] as const))('%s', (_, c) => {
  it('refuses a caller without credentials with 401', async () => {
    const res = await f.call(c.method, await resolvePath(c), undefined, c.body?.('admin'));
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: 'admin_unauthorized', type: 'authentication_error' } });
  });

  it.each(all)('as %s', async (role) => {
    const res = await f.call(c.method, await resolvePath(c), f.tokens[role], c.body?.(role));
    if (c.allowed.includes(role)) {
      expect(res.status, `${role}: ${res.text}`).toBeGreaterThanOrEqual(200);
      expect(res.status, `${role}: ${res.text}`).toBeLessThan(300);
    } else {
      expect(res.status, `${role}: ${res.text}`).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'forbidden', type: 'permission_error' } });
    }
  });
});

describe('reach within a role', () => {
  it('refuses a manager acting on a user of a team outside their own', async () => {
    const res = await f.call('POST', `/users/${f.users.olga}/deactivate`, f.tokens.manager);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { code: 'forbidden' } });
  });

  it("lists only the manager's team and sub-teams", async () => {
    const res = await f.call('GET', '/users?limit=1000', f.tokens.manager);
    const names = (res.body.data as Array<{ name: string }>).map((u) => u.name);
    expect(names).toContain('dev');
    expect(names).toContain('mgr');
    expect(names).not.toContain('olga');
  });

  it("refuses a developer another user's key and lists only their own", async () => {
    const olgaKey = await createApiKey(db(), f.gw.app.bus, setupChange, f.users.olga, {});
    expect((await f.call('GET', `/keys/${olgaKey.id}`, f.tokens.developer)).status).toBe(403);
    const listed = await f.call('GET', '/keys?limit=1000', f.tokens.developer);
    expect(new Set((listed.body.data as Array<{ userId: string }>).map((k) => k.userId))).toEqual(new Set([f.users.dev]));
  });

  it('refuses a manager an org-wide budget', async () => {
    const res = await f.call('PUT', '/budgets', f.tokens.manager, { scope: 'org', scopeId: f.orgId, metric: 'tokens', window: 'day', limit: 1 });
    expect(res.status).toBe(403);
  });

  it('serves the OpenAPI document without credentials, listing every route', async () => {
    const res = await f.call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    for (const r of adminRoutes) expect(res.body.paths[`/admin/v1${r.path.replace(/:(\w+)/g, '{$1}')}`]?.[r.method.toLowerCase()]).toBeDefined();
  });

  it('answers an unknown admin route with 404 once authenticated', async () => {
    const res = await f.call('GET', '/nope', f.tokens.admin);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: 'route_not_found' } });
  });
});
