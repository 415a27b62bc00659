// Finding 4 of the security review: a manager must not raise budgets beyond their reach, nor their
// own. Deciding a quota request needs the right to edit that budget directly and is never done by
// the requester; a manager sets budgets only below their own team and never on themselves; and a
// manager cannot move their own team (or a team out of their subtree) to escape a parent's budget.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { budgets } from '../../drizzle/schema/index.js';
import { createAdminKey } from '../../src/control/admin-keys.js';
import { upsertBudget, type BudgetInput } from '../../src/control/budgets.js';
import { createApiKey } from '../../src/control/keys.js';
import { submitQuotaRequest } from '../../src/control/quota-requests.js';
import { createTeam, updateTeam } from '../../src/control/teams.js';
import { type AdminFixture, setupChange, startAdminFixture } from '../admin/support.js';

let mock: MockUpstream;
let f: AdminFixture;
// research (the manager's team) sits under division; ml is below research, with a sibling lab.
let division: string;
let lab: string;

beforeAll(async () => {
  mock = await startMockUpstream();
  f = await startAdminFixture(mock);
  const db = f.gw.app.database.db;
  division = (await createTeam(db, setupChange, { orgId: f.orgId, name: 'division' })).id;
  await updateTeam(db, f.gw.app.bus, setupChange, f.teams.research, { parentId: division });
  lab = (await createTeam(db, setupChange, { orgId: f.orgId, name: 'lab', parentId: f.teams.research })).id;
});

afterAll(async () => {
  await f?.gw.close();
  await mock?.close();
});

const db = () => f.gw.app.database.db;
const budget = (input: Omit<BudgetInput, 'metric' | 'window' | 'limit'> & Partial<BudgetInput>) =>
  upsertBudget(db(), f.gw.app.bus, setupChange, f.orgId, { metric: 'tokens', window: 'day', limit: 1_000, ...input });
const limitOf = async (id: string) => (await db().select({ limit: budgets.limit }).from(budgets).where(eq(budgets.id, id)))[0]!.limit;
const ask = (budgetId: string, userId = f.users.dev) => submitQuotaRequest(db(), setupChange, { userId, budgetId, amount: 1_000_000_000_000, justification: 'more' });
const forbidden = { status: 403, body: { error: { code: 'forbidden', type: 'permission_error' } } };

describe('quota requests cannot raise budgets beyond the decider’s reach', () => {
  it.each([
    ['the org-wide budget', () => budget({ scope: 'org', scopeId: f.orgId, metric: 'costMicros', window: 'month' })],
    ["a '*' budget of every user", () => upsertBudget(db(), f.gw.app.bus, setupChange, f.orgId, { scope: 'user', scopeId: '*', metric: 'tokens', window: 'month', limit: 1_000 })],
    ["the manager's own team budget (a parent of the requester's team)", () => budget({ scope: 'team', scopeId: f.teams.research, window: 'hour' })],
    ['the budget of a team above the manager', () => budget({ scope: 'team', scopeId: division })],
  ])('a manager cannot approve a request on %s', async (_, make) => {
    const { id: budgetId, limit } = await make();
    const request = await ask(budgetId);
    expect(await f.call('POST', `/quota-requests/${request.id}/approve`, f.tokens.manager)).toMatchObject(forbidden);
    expect(await f.call('POST', `/quota-requests/${request.id}/deny`, f.tokens.manager, { reason: 'no' })).toMatchObject(forbidden);
    expect(await limitOf(budgetId)).toBe(limit);
    // An admin still decides it.
    expect(await f.call('POST', `/quota-requests/${request.id}/approve`, f.tokens.admin)).toMatchObject({ status: 200, body: { status: 'approved' } });
  });

  it('a manager still approves a request on a budget they may set directly', async () => {
    const { id: budgetId } = await budget({ scope: 'user', scopeId: f.users.dev, window: 'month' });
    const request = await ask(budgetId);
    expect(await f.call('POST', `/quota-requests/${request.id}/approve`, f.tokens.manager)).toMatchObject({ status: 200, body: { status: 'approved' } });
    expect(await limitOf(budgetId)).toBe(1_000 + 1_000_000_000_000);
  });

  it('nobody decides their own request, not even an admin acting as that user', async () => {
    const selfAdmin = (await createAdminKey(db(), setupChange, { name: 'olga-admin', role: 'admin', userId: f.users.olga })).key;
    const { id: budgetId } = await budget({ scope: 'team', scopeId: f.teams.sales });
    const request = await ask(budgetId, f.users.olga);
    expect(await f.call('POST', `/quota-requests/${request.id}/approve`, selfAdmin)).toMatchObject(forbidden);
    // A manager's own request on their own team budget, filed through the API.
    const { id: teamBudget } = await budget({ scope: 'team', scopeId: f.teams.research, window: 'month' });
    const own = await f.call('POST', '/quota-requests', f.tokens.manager, { budgetId: teamBudget, amount: 5, justification: 'me' });
    expect(own.status).toBe(201);
    expect(await f.call('POST', `/quota-requests/${own.body.id}/approve`, f.tokens.manager)).toMatchObject(forbidden);
  });
});

describe('a manager sets budgets only below themselves', () => {
  const put = (scope: string, scopeId: string) => f.call('PUT', '/budgets', f.tokens.manager, { scope, scopeId, metric: 'tokens', window: 'day', limit: 999_999_999 });

  it('a manager cannot set a budget on their own user, their own key or their own team', async () => {
    const mgrKey = (await createApiKey(db(), f.gw.app.bus, setupChange, f.users.mgr, {})).id;
    expect(await put('user', f.users.mgr)).toMatchObject(forbidden);
    expect(await put('key', mgrKey)).toMatchObject(forbidden);
    expect(await put('team', f.teams.research)).toMatchObject(forbidden);
    expect(await put('team', division)).toMatchObject(forbidden);
  });

  it('a manager cannot patch or delete a budget on themselves either', async () => {
    const own = await budget({ scope: 'user', scopeId: f.users.mgr });
    expect(await f.call('PATCH', `/budgets/${own.id}`, f.tokens.manager, { limit: 999_999_999 })).toMatchObject(forbidden);
    expect(await f.call('DELETE', `/budgets/${own.id}`, f.tokens.manager)).toMatchObject(forbidden);
    expect(await f.call('POST', '/budget-templates/enterprise/apply', f.tokens.manager, { scope: 'team', scopeId: f.teams.research })).toMatchObject(forbidden);
    expect(await limitOf(own.id)).toBe(1_000);
  });

  it('a manager still sets budgets on teams below theirs and on their users', async () => {
    expect((await put('team', f.teams.ml)).status).toBe(200);
    expect((await put('user', f.users.dev)).status).toBe(200);
    expect((await put('key', f.devKeyId)).status).toBe(200);
    // And may read the budgets that apply to themselves.
    const own = await budget({ scope: 'team', scopeId: f.teams.research, window: 'total' });
    expect((await f.call('GET', `/budgets/${own.id}`, f.tokens.manager)).status).toBe(200);
  });
});

describe('a manager cannot move teams to escape budgets', () => {
  it("a manager cannot detach their own team from its parent, nor move it", async () => {
    expect(await f.call('PATCH', `/teams/${f.teams.research}`, f.tokens.manager, { parentId: null })).toMatchObject(forbidden);
    expect(await f.call('PATCH', `/teams/${f.teams.research}`, f.tokens.manager, { parentId: f.teams.sales })).toMatchObject(forbidden);
    expect((await f.call('GET', `/teams/${f.teams.research}`, f.tokens.admin)).body).toMatchObject({ parentId: division });
  });

  it('a manager moves teams only within their subtree', async () => {
    expect(await f.call('PATCH', `/teams/${f.teams.ml}`, f.tokens.manager, { parentId: null })).toMatchObject(forbidden);
    expect(await f.call('PATCH', `/teams/${f.teams.ml}`, f.tokens.manager, { parentId: f.teams.sales })).toMatchObject(forbidden);
    expect(await f.call('PATCH', `/teams/${f.teams.ml}`, f.tokens.manager, { parentId: lab })).toMatchObject({ status: 200, body: { parentId: lab } });
    expect(await f.call('PATCH', `/teams/${f.teams.ml}`, f.tokens.manager, { parentId: f.teams.research })).toMatchObject({ status: 200, body: { parentId: f.teams.research } });
  });

  it('a manager cannot take themselves out of their team', async () => {
    expect(await f.call('DELETE', `/teams/${f.teams.research}/members/${f.users.mgr}`, f.tokens.manager)).toMatchObject(forbidden);
    expect(await f.call('PUT', `/teams/${f.teams.ml}/members/${f.users.mgr}`, f.tokens.manager)).toMatchObject(forbidden);
  });

  it('a manager cannot move their own user out of their team, nor lift their own key policy or role', async () => {
    expect(await f.call('PATCH', `/users/${f.users.mgr}`, f.tokens.manager, { teamId: null })).toMatchObject(forbidden);
    expect(await f.call('PATCH', `/users/${f.users.mgr}`, f.tokens.manager, { teamId: f.teams.ml })).toMatchObject(forbidden);
    expect(await f.call('PATCH', `/users/${f.users.mgr}`, f.tokens.manager, { keyPolicy: null })).toMatchObject(forbidden);
  });

  it('an admin keeps full rights', async () => {
    expect(await f.call('PATCH', `/teams/${lab}`, f.tokens.admin, { parentId: null })).toMatchObject({ status: 200, body: { parentId: null } });
    expect(await f.call('PATCH', `/teams/${lab}`, f.tokens.admin, { parentId: f.teams.research })).toMatchObject({ status: 200 });
  });
});
