// A test gateway with the admin API and one admin key per role, acting as users placed so that
// every scoped role has something within reach: manager `mgr` runs team research (with sub-team
// ml); developer `dev` is in ml; `olga` is in sales, outside the manager's reach.
import { request } from 'undici';
import type { MockUpstream } from '../../bench/mock-upstream.js';
import type { ChangeContext, Role } from '../../src/control/actor.js';
import { createAdminKey } from '../../src/control/admin-keys.js';
import { createApiKey } from '../../src/control/keys.js';
import { createTeam } from '../../src/control/teams.js';
import { createUser } from '../../src/control/users.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

export const setupChange: ChangeContext = { actor: { type: 'cli', id: 'test-setup', role: 'admin', userId: null }, requestId: 'test-setup' };

export interface AdminFixture {
  gw: TestGateway;
  orgId: string;
  teams: { research: string; ml: string; sales: string };
  users: { mgr: string; dev: string; olga: string; ana: string };
  devKeyId: string;
  tokens: Record<Role, string>;
  call(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any; text: string; headers: Record<string, unknown> }>;
}

export async function startAdminFixture(mock: MockUpstream, options: { env?: Record<string, string>; overrides?: Record<string, unknown> } = {}): Promise<AdminFixture> {
  const gw = await startTestGateway({ mock, ...options });
  const db = gw.app.database.db;
  const orgId = gw.created.orgId;
  const research = (await createTeam(db, setupChange, { orgId, name: 'research' })).id;
  const ml = (await createTeam(db, setupChange, { orgId, name: 'ml', parentId: research })).id;
  const sales = (await createTeam(db, setupChange, { orgId, name: 'sales' })).id;
  const mgr = (await createUser(db, setupChange, { orgId, name: 'mgr', teamId: research, role: 'manager' })).id;
  const dev = (await createUser(db, setupChange, { orgId, name: 'dev', teamId: ml })).id;
  const olga = (await createUser(db, setupChange, { orgId, name: 'olga', teamId: sales })).id;
  const ana = (await createUser(db, setupChange, { orgId, name: 'ana', role: 'analyst' })).id;
  const devKeyId = (await createApiKey(db, gw.app.bus, setupChange, dev, { name: 'dev laptop' })).id;
  const actingAs: Record<Role, string | null> = { admin: null, manager: mgr, analyst: ana, developer: dev, viewer: null };
  const tokens = {} as Record<Role, string>;
  for (const [role, userId] of Object.entries(actingAs) as Array<[Role, string | null]>) {
    tokens[role] = (await createAdminKey(db, setupChange, { name: role, role, userId })).key;
  }
  return {
    gw,
    orgId,
    teams: { research, ml, sales },
    users: { mgr, dev, olga, ana },
    devKeyId,
    tokens,
    async call(method, path, token, body) {
      const res = await request(`${gw.url}/admin/v1${path}`, {
        method: method as 'GET',
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.body.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.statusCode, body: parsed, text, headers: res.headers };
    },
  };
}
