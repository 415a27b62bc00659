// Chargeback: department, cost center and labels on users and teams through the admin API (PATCH,
// CSV import and export), who may set them, and usage and reports grouped by them reconciling with
// sums over usage_events. One embedded gateway (PGlite) with the admin fixture's roles.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { chargebackHistory } from '../../drizzle/schema/index.js';
import { parseCsv } from '../../src/control/csv.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { type AdminFixture, startAdminFixture } from '../admin/support.js';
import { makeEvent } from '../usage/support.js';

describe('chargeback metadata', { timeout: 240_000 }, () => {
  let mock: MockUpstream;
  let f: AdminFixture;
  const admin = () => f.tokens.admin;

  beforeAll(async () => {
    mock = await startMockUpstream();
    f = await startAdminFixture(mock);
    // Three days of usage: mgr (research), dev (ml, below research), olga (sales), and a tagged share.
    const events: UsageEvent[] = [];
    const who = [
      { userId: f.users.mgr, teamId: f.teams.research },
      { userId: f.users.dev, teamId: f.teams.ml },
      { userId: f.users.olga, teamId: f.teams.sales },
    ];
    for (let i = 0; i < 90; i++) {
      const w = who[i % 3]!;
      events.push(makeEvent(i, { requestId: `cb-${i}`, timeMs: Date.parse('2026-11-10T00:00:00Z') + i * 2_400_000, orgId: f.orgId, ...w, keyId: `key_${w.userId}`, costMicros: 1_000 * (i + 1), tags: i % 4 === 0 ? { project: 'apollo' } : {} }));
    }
    expect((await writeUsageEvents(f.gw.app.database.db, events)).rejected).toEqual([]);
  }, 300_000);

  afterAll(async () => {
    await f?.gw.close();
    await mock?.close();
  });

  it('sets, merges and clears a user\'s metadata with PATCH, and audits it', async () => {
    const set = await f.call('PATCH', `/users/${f.users.olga}`, admin(), { department: 'Sales', costCenter: 'CC-200', labels: { region: 'emea', tier: 'gold' } });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({ id: f.users.olga, department: 'Sales', costCenter: 'CC-200', labels: { region: 'emea', tier: 'gold' } });
    const merged = await f.call('PATCH', `/users/${f.users.olga}`, admin(), { labels: { tier: null, owner: 'kim' } });
    expect(merged.body.labels).toEqual({ region: 'emea', owner: 'kim' });
    expect(merged.body.costCenter).toBe('CC-200');
    const cleared = await f.call('PATCH', `/users/${f.users.olga}`, admin(), { department: null });
    expect(cleared.body).toMatchObject({ department: null, costCenter: 'CC-200' });
    const audit = await f.call('GET', `/audit?action=user.chargeback`, admin());
    expect(audit.body.data.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses oversized or malformed metadata with a 400 naming the field', async () => {
    const long = await f.call('PATCH', `/users/${f.users.olga}`, admin(), { costCenter: 'x'.repeat(65) });
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ error: { code: 'invalid_request' } });
    expect(long.text).toContain('costCenter');
    const badKey = await f.call('PATCH', `/users/${f.users.olga}`, admin(), { labels: { 'bad key!': 'v' } });
    expect(badKey.status).toBe(400);
    const control = await f.call('PATCH', `/teams/${f.teams.sales}`, admin(), { department: 'Sales\u202e' });
    expect(control.status).toBe(400);
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']));
    expect((await f.call('PATCH', `/users/${f.users.olga}`, admin(), { labels: many })).status).toBe(400);
    // Twenty in one PATCH is allowed, but not twenty plus the two already there.
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v']));
    const over = await f.call('PATCH', `/users/${f.users.olga}`, admin(), { labels: twenty });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toContain('at most 20 labels');
    expect((await f.call('GET', `/users/${f.users.olga}`, admin())).body.labels).toEqual({ region: 'emea', owner: 'kim' });
  });

  it('lets a manager set metadata inside their teams but not on their own user or team', async () => {
    const mgr = f.tokens.manager;
    expect((await f.call('PATCH', `/users/${f.users.dev}`, mgr, { costCenter: 'CC-ML' })).status).toBe(200);
    expect((await f.call('PATCH', `/teams/${f.teams.ml}`, mgr, { department: 'Research' })).status).toBe(200);
    expect((await f.call('PATCH', `/users/${f.users.mgr}`, mgr, { costCenter: 'CC-ELSEWHERE' })).body).toMatchObject({ error: { code: 'forbidden' } });
    expect((await f.call('PATCH', `/teams/${f.teams.research}`, mgr, { costCenter: 'CC-ELSEWHERE' })).body).toMatchObject({ error: { code: 'forbidden' } });
    expect((await f.call('PATCH', `/users/${f.users.olga}`, mgr, { costCenter: 'CC-X' })).status).toBe(403);
    expect((await f.call('PATCH', `/users/${f.users.dev}`, f.tokens.developer, { costCenter: 'CC-X' })).status).toBe(403);
  });

  it('imports metadata from CSV row by row and exports it with formula cells neutralised', async () => {
    const csv = [
      'type,name,department,cost_center,label:env',
      'team,research,Research,CC-100,prod',
      'team,sales,Sales,,',
      'user,mgr,,CC-101,',
      'user,nobody,X,CC-1,',
      'user,dev,=HYPERLINK("http://evil"),CC-ML,staging',
      'robot,x,,,',
    ].join('\n');
    const res = await f.call('POST', '/chargeback/import', admin(), { orgId: f.orgId, csv });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ updated: 4, failed: 2 });
    expect(res.body.results.filter((r: any) => r.status === 'failed').map((r: any) => r.row)).toEqual([5, 7]);
    expect((await f.call('GET', `/teams/${f.teams.research}`, admin())).body).toMatchObject({ department: 'Research', costCenter: 'CC-100', labels: { env: 'prod' } });
    // An empty cell clears: sales has no cost center.
    expect((await f.call('GET', `/teams/${f.teams.sales}`, admin())).body).toMatchObject({ department: 'Sales', costCenter: null });

    const exported = await f.call('GET', `/chargeback/export?orgId=${f.orgId}`, admin());
    expect(exported.status).toBe(200);
    expect(exported.text).not.toMatch(/(^|,)=HYPERLINK/m);
    const rows = parseCsv(exported.text);
    expect(rows[0]).toEqual(expect.arrayContaining(['type', 'name', 'department', 'cost_center', 'label:env', 'label:owner', 'label:region']));
    const dev = rows.find((r) => r[0] === 'user' && r[1] === 'dev')!;
    expect(dev[2]).toBe(`'=HYPERLINK("http://evil")`);

    // A manager's import reaches only their own teams, never their own user.
    const mgr = await f.call('POST', '/chargeback/import', f.tokens.manager, { orgId: f.orgId, csv: 'type,name,cost_center\nuser,dev,CC-ML2\nuser,mgr,CC-SELF\nuser,olga,CC-X' });
    expect(mgr.body.results.map((r: any) => r.status)).toEqual(['updated', 'failed', 'failed']);
  });

  async function ledgerCost(userIds: readonly string[]): Promise<number> {
    const result = (await f.gw.app.database.db.execute(
      sql`select coalesce(sum(cost_micros), 0)::bigint as cost from usage_events where org_id = ${f.orgId} and user_id in ${userIds}`,
    )) as unknown as { rows: Array<{ cost: string }> };
    return Number(result.rows[0]!.cost);
  }

  it('groups GET /admin/v1/usage by cost center and department, reconciling with usage_events', async () => {
    // The changes above take effect at the next whole hour, after November's usage; moved back
    // before November (as an injected clock would), November is charged to the values set now.
    // chargeback-history.test.ts covers usage from before a change.
    await f.gw.app.database.db.update(chargebackHistory).set({ validUntil: new Date('2026-10-01T00:00:00Z') });
    // Now: mgr CC-101, dev CC-ML2, olga CC-200, each their own.
    const res = await f.call('GET', '/usage?from=2026-11-01&to=2026-11-30&groupBy=cost_center', admin());
    expect(res.status, res.text).toBe(200);
    const byCc = Object.fromEntries(res.body.rows.map((r: any) => [r.cost_center, r.costMicros]));
    expect(byCc).toEqual({ 'CC-101': await ledgerCost([f.users.mgr]), 'CC-ML2': await ledgerCost([f.users.dev]), 'CC-200': await ledgerCost([f.users.olga]) });
    expect(res.body.totals.costMicros).toBe(await ledgerCost([f.users.mgr, f.users.dev, f.users.olga]));

    const depts = await f.call('GET', '/usage?from=2026-11-01&to=2026-11-30&groupBy=department,day', admin());
    const dept = (name: string) => depts.body.rows.filter((r: any) => r.department === name).reduce((s: number, r: any) => s + r.costMicros, 0);
    // mgr has none of their own and takes research's; dev's own (imported) wins over ml's.
    expect(dept('Research')).toBe(await ledgerCost([f.users.mgr]));
    expect(dept('=HYPERLINK("http://evil")')).toBe(await ledgerCost([f.users.dev]));
    expect(dept('Sales')).toBe(await ledgerCost([f.users.olga]));

    // Labels group the same way: dev's own env wins over research's, which mgr takes.
    const envs = await f.call('GET', '/usage?from=2026-11-01&to=2026-11-30&groupBy=label:env', admin());
    expect(envs.status, envs.text).toBe(200);
    expect(Object.fromEntries(envs.body.rows.map((r: any) => [r['label:env'], r.costMicros]))).toEqual({ prod: await ledgerCost([f.users.mgr]), staging: await ledgerCost([f.users.dev]), null: await ledgerCost([f.users.olga]) });
    expect((await f.call('GET', '/usage?from=2026-11-01&to=2026-11-30&groupBy=label:bad%20key', admin())).status).toBe(400);

    const filtered = await f.call('GET', '/usage?from=2026-11-01&to=2026-11-30&cost_center=CC-200', admin());
    expect(filtered.body.totals.costMicros).toBe(await ledgerCost([f.users.olga]));
    expect((await f.call('GET', '/usage?from=2026-11-01&to=2026-11-30&groupBy=cost_centre', admin())).status).toBe(400);

    // A manager's view keeps to their teams: olga's cost center does not appear.
    const mine = await f.call('GET', '/usage?from=2026-11-01&to=2026-11-30&groupBy=cost_center', f.tokens.manager);
    expect(mine.body.rows.map((r: any) => r.cost_center).sort()).toEqual(['CC-101', 'CC-ML2']);
  });

  it('reports by department, cost center, a tag and a label, each section adding up to the ledger', async () => {
    const res = await f.call('GET', `/reports?org=${f.orgId}&period=2026-11&tags=project`, admin());
    expect(res.status, res.text).toBe(200);
    const report = res.body;
    const total = await ledgerCost([f.users.mgr, f.users.dev, f.users.olga]);
    expect(report.totals.costMicros).toBe(total);
    const sum = (ranked: any) => ranked.top.reduce((s: number, l: any) => s + l.costMicros, 0) + (ranked.rest?.costMicros ?? 0);
    expect(sum(report.byCostCenter)).toBe(total);
    expect(sum(report.byDepartment)).toBe(total);
    expect(Object.fromEntries(report.byCostCenter.top.map((l: any) => [l.name, l.costMicros]))).toMatchObject({ 'CC-200': await ledgerCost([f.users.olga]) });
    expect(report.byTag).toHaveLength(1);
    const apollo = report.byTag[0].lines.top.find((l: any) => l.name === 'apollo');
    const tagged = (await f.gw.app.database.db.execute(sql`select sum(cost_micros)::bigint as c from usage_events where org_id = ${f.orgId} and tags ->> 'project' = 'apollo'`)) as unknown as { rows: Array<{ c: string }> };
    expect(apollo.costMicros).toBe(Number(tagged.rows[0]!.c));
    expect(sum(report.byTag[0].lines)).toBe(total);

    // A label section charges like GET /admin/v1/usage?groupBy=label:env: dev's own env, else the team's.
    const labelled = await f.call('GET', `/reports?org=${f.orgId}&period=2026-11&labels=env`, admin());
    expect(labelled.status, labelled.text).toBe(200);
    const [env] = labelled.body.byLabel;
    expect(env.label).toBe('env');
    expect(Object.fromEntries(env.lines.top.map((l: any) => [l.name, l.costMicros]))).toEqual({
      prod: await ledgerCost([f.users.mgr]), staging: await ledgerCost([f.users.dev]), '(no env label)': await ledgerCost([f.users.olga]),
    });
    expect(sum(env.lines)).toBe(total);
    expect((await f.call('GET', `/reports?org=${f.orgId}&period=2026-11&labels=bad%20key`, admin())).status).toBe(400);

    const csv = await f.call('GET', `/reports?org=${f.orgId}&period=2026-11&format=csv`, admin());
    const rows = parseCsv(csv.text);
    const ccRows = rows.filter((r) => r[0] === 'cost_center');
    expect(ccRows.length).toBe(3);
    const labelCsv = parseCsv((await f.call('GET', `/reports?org=${f.orgId}&period=2026-11&format=csv&labels=env`, admin())).text);
    expect(labelCsv.filter((r) => r[0] === 'label:env').map((r) => r[5]).sort()).toEqual(['(no env label)', 'prod', 'staging']);
  });
});
