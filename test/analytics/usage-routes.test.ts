// GET /admin/v1/usage over HTTP, scoped by role (a manager sees their team and the teams below it,
// a developer their own usage), and GET /v1/usage/history for a key holder's own days.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { type AdminFixture, startAdminFixture } from '../admin/support.js';

let mock: MockUpstream;
let f: AdminFixture;
let events: UsageEvent[];

const event = (i: number, iso: string, userId: string, teamId: string | null, orgId: string, costMicros: number): UsageEvent => ({
  requestId: `route_${i}`,
  timeMs: Date.parse(iso),
  orgId,
  teamId,
  userId,
  keyId: `key_${userId}`,
  provider: 'openai',
  model: i % 2 ? 'gpt-4o' : 'gpt-4o-mini',
  promptTokens: 100 + i,
  cachedTokens: i,
  completionTokens: 10 + i,
  reasoningTokens: 0,
  costMicros,
  status: 200,
  errorCode: null,
  stream: false,
  latencyMs: 100,
  ttfbMs: null,
  estimated: false,
  sessionId: null,
  tags: {},
});

beforeAll(async () => {
  mock = await startMockUpstream();
  f = await startAdminFixture(mock);
  const { research, ml, sales } = f.teams;
  const alice = f.gw.created;
  // Either side of Kolkata's midnight (18:30 UTC), for each user within and outside the manager's reach.
  events = [
    event(1, '2026-11-01T18:29:59.999Z', f.users.mgr, research, f.orgId, 1_000),
    event(2, '2026-11-01T18:30:00.000Z', f.users.dev, ml, f.orgId, 20_000),
    event(3, '2026-11-02T03:00:00.000Z', f.users.dev, ml, f.orgId, 300_000),
    event(4, '2026-11-02T04:00:00.000Z', f.users.olga, sales, f.orgId, 4_000_000),
    event(5, '2026-11-01T12:00:00.000Z', alice.userId, alice.teamId, alice.orgId, 50_000_000),
    event(6, '2026-11-02T19:00:00.000Z', alice.userId, alice.teamId, alice.orgId, 600_000_000),
  ];
  await writeUsageEvents(f.gw.app.database.db, events);
}, 60_000);

afterAll(async () => {
  await f?.gw.close();
  await mock?.close();
});

const usage = (token: string, query: string) => f.call('GET', `/usage?${query}`, token);
const costOf = (ids: number[]) => events.filter((_, i) => ids.includes(i + 1)).reduce((s, e) => s + e.costMicros, 0);

describe('GET /admin/v1/usage', () => {
  it('groups an org by team and Kolkata day, splitting at 18:30 UTC', async () => {
    const res = await usage(f.tokens.admin, `from=2026-11-01&to=2026-11-02&tz=Asia/Kolkata&groupBy=day,team&org=${f.orgId}`);
    expect(res.status, res.text).toBe(200);
    // By team alone: the team level rollups, whose 15-minute rows split the hour at 18:30 UTC.
    expect(res.body.source).toBe('rollups');
    expect(res.body.rows.map((r: any) => [r.bucket, r.team, r.costMicros])).toEqual([
      // Alice (the gateway's first key) is in the same org, in no team.
      ['2026-11-01T00:00:00+05:30', null, 50_000_000],
      ['2026-11-01T00:00:00+05:30', f.teams.research, 1_000],
      ['2026-11-02T00:00:00+05:30', f.teams.sales, 4_000_000],
      ['2026-11-02T00:00:00+05:30', f.teams.ml, 320_000],
    ]);
    expect(res.body.totals).toMatchObject({ requests: 5, costMicros: costOf([1, 2, 3, 4, 5]) });
  });

  it('shows a manager their team and the teams below it, and a developer their own usage only', async () => {
    const q = `from=2026-11-01&to=2026-11-02&tz=Asia/Kolkata&groupBy=user`;
    const manager = await usage(f.tokens.manager, q);
    expect(manager.status, manager.text).toBe(200);
    expect(manager.body.rows.map((r: any) => r.user).sort()).toEqual([f.users.dev, f.users.mgr].sort());
    expect(manager.body.totals.costMicros).toBe(costOf([1, 2, 3]));
    const developer = await usage(f.tokens.developer, q);
    expect(developer.body.rows.map((r: any) => r.user)).toEqual([f.users.dev]);
    expect(developer.body.totals.costMicros).toBe(costOf([2, 3]));
    // Naming someone outside their reach in a filter shows nothing rather than their usage.
    const probing = await usage(f.tokens.developer, `${q}&user=${f.users.olga}`);
    expect(probing.body.totals.requests).toBe(0);
  });

  it('refuses an unknown grouping, a bad zone and a missing range with invalid_request naming the field', async () => {
    const cases = [
      ['from=2026-11-01&to=2026-11-02&groupBy=day,week', 'groupBy'],
      ['from=2026-11-01&to=2026-11-02&groupBy=colour', 'groupBy'],
      ['from=2026-11-01&to=2026-11-02&tz=Not/AZone', 'tz'],
      ['to=2026-11-02', 'from'],
      ['from=2026-11-01&to=2026-11-02&tag=nocolon', 'tag'],
    ];
    for (const [query, param] of cases) {
      const res = await usage(f.tokens.admin, query!);
      expect({ query, status: res.status, body: res.body }).toMatchObject({ query, status: 400, body: { error: { code: 'invalid_request', param } } });
    }
  });
});

describe('GET /v1/usage/history', () => {
  const history = async (query: string, key = f.gw.key) => {
    const res = await request(`${f.gw.url}/v1/usage/history?${query}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.statusCode, body: (await res.body.json()) as any };
  };

  it("lists the key holder's own days in their zone, zero days included", async () => {
    const res = await history('from=2026-10-31&to=2026-11-03&tz=Asia/Kolkata');
    expect(res.status).toBe(200);
    expect(res.body.data.map((d: any) => [d.day, d.requests, d.cost_micros])).toEqual([
      ['2026-10-31', 0, 0],
      ['2026-11-01', 1, 50_000_000],
      ['2026-11-02', 0, 0],
      ['2026-11-03', 1, 600_000_000],
    ]);
    expect(res.body.total).toMatchObject({ requests: 2, cost_micros: 650_000_000, input_tokens: 211, output_tokens: 31 });
  });

  it('breaks days down by model on request and refuses a bad range', async () => {
    const res = await history('from=2026-11-01&to=2026-11-01&group_by=model');
    expect(res.body.data[0].by_model).toEqual([expect.objectContaining({ model: 'gpt-4o', cost_micros: 50_000_000 })]);
    expect((await history('from=2026-11-05&to=2026-11-01')).body).toMatchObject({ error: { code: 'invalid_request' } });
    expect((await history('tz=Nowhere/Else')).body).toMatchObject({ error: { code: 'invalid_request', param: 'tz' } });
  });

  it('needs a key', async () => {
    const res = await request(`${f.gw.url}/v1/usage/history`);
    expect(res.statusCode).toBe(401);
    await res.body.dump();
  });
});
