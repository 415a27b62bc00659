// Attacks through the audit log and CSV: an analyst reading other orgs' audit trails, a manager
// importing an admin by CSV, control characters smuggled into names, and spreadsheet formulas
// riding out in an export.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { recordAudit } from '../../src/control/audit.js';
import { parseCsv } from '../../src/control/csv.js';
import { createOrg } from '../../src/control/orgs.js';
import { createUser } from '../../src/control/users.js';
import { type AdminFixture, setupChange, startAdminFixture } from '../admin/support.js';

let mock: MockUpstream;
let f: AdminFixture;
let otherOrgId: string;

beforeAll(async () => {
  mock = await startMockUpstream();
  f = await startAdminFixture(mock);
  const db = f.gw.app.database.db;
  otherOrgId = (await createOrg(db, setupChange, { name: 'globex' })).id;
  await createUser(db, setupChange, { orgId: otherOrgId, name: 'gina' });
});

afterAll(async () => {
  await f?.gw.close();
  await mock?.close();
});

describe("an analyst cannot read another org's audit log", () => {
  it('lists only entries of their own org', async () => {
    const all = await f.call('GET', '/audit?limit=1000', f.tokens.admin);
    expect((all.body.data as Array<{ orgId: string }>).some((e) => e.orgId === otherOrgId)).toBe(true);
    const res = await f.call('GET', '/audit?limit=1000', f.tokens.analyst);
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.length).toBeGreaterThan(0);
    expect(new Set((res.body.data as Array<{ orgId: string }>).map((e) => e.orgId))).toEqual(new Set([f.orgId]));
    const asked = await f.call('GET', `/audit?orgId=${otherOrgId}`, f.tokens.analyst);
    expect(asked.body.data).toEqual([]);
  });

  it('exports only entries of their own org', async () => {
    const res = await f.call('GET', '/audit/export?format=jsonl', f.tokens.analyst);
    expect(res.status).toBe(200);
    const orgIds = new Set(res.text.trim().split('\n').map((l) => (JSON.parse(l) as { orgId: string }).orgId));
    expect(orgIds).toEqual(new Set([f.orgId]));
  });
});

describe('CSV user import', () => {
  it('a manager cannot create an admin through a CSV row', async () => {
    const res = await f.call('POST', '/users/import', f.tokens.manager, { orgId: f.orgId, csv: 'name,team,role\nmallory,ml,admin\n' });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ created: 0, failed: 1, results: [{ row: 2, status: 'failed', error: expect.stringMatching(/admin/) }] });
    const listed = await f.call('GET', '/users?name=mallory', f.tokens.admin);
    expect(listed.body.data).toEqual([]);
  });

  it('a CSV row cannot smuggle control characters, commas or padding into a name', async () => {
    const csv = 'name,team\n"eve\u001b[2J",ml\n"bob\u0000",ml\n"a,b",ml\n"zed\u202e",ml\nfine,ml\n';
    const res = await f.call('POST', '/users/import', f.tokens.admin, { orgId: f.orgId, csv });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ created: 1, failed: 4 });
    expect(res.body.results.filter((r: { status: string }) => r.status === 'created').map((r: { name: string }) => r.name)).toEqual(['fine']);
  });
});

describe('control characters in names on the JSON routes', () => {
  it.each([
    ['POST', '/orgs', { name: 'evil\u0007corp' }],
    ['POST', '/users', () => ({ orgId: f.orgId, name: 'ter\u001bm', teamId: f.teams.ml })],
    ['POST', '/keys', () => ({ userId: f.users.dev, name: 'laptop\u0000' })],
    ['POST', '/admin-keys', { name: 'ci\u202ekey', role: 'viewer' }],
  ])('%s %s refuses a name with a control character', async (method, path, body) => {
    const res = await f.call(method, path, f.tokens.admin, typeof body === 'function' ? body() : body);
    expect(res.status, res.text).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'invalid_request', param: 'name' } });
  });
});

describe('CSV export', () => {
  it('neutralises cells a spreadsheet would run as a formula', async () => {
    const db = f.gw.app.database.db;
    const payloads = ['=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd'];
    for (const [i, actorId] of payloads.entries()) {
      await recordAudit(db, { actor: { type: 'jwt', id: actorId, role: 'admin', userId: null }, requestId: `formula-${i}` }, {
        action: 'org.update', resourceType: 'org', resourceId: `=res${i}`, orgId: f.orgId, before: null, after: null,
      });
    }
    const res = await f.call('GET', '/audit/export?action=org.update', f.tokens.admin);
    expect(res.status).toBe(200);
    const [header, ...rows] = parseCsv(res.text);
    const col = (name: string) => header!.indexOf(name);
    const actorIds = rows.map((r) => r[col('actorId')]);
    expect(actorIds.sort()).toEqual(payloads.map((p) => `'${p}`).sort());
    for (const r of rows) expect(r[col('resourceId')]).toMatch(/^'=res\d$/);
    for (const r of rows) for (const cell of r) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });
});
