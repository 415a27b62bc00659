// The analyses' inputs come from the ledger exactly: seeded usage in Postgres and PGlite gives the daily
// series, budget subjects and recommendation facts worked out by hand, and analyse() turns them
// into forecasts, anomalies, recommendations and alert findings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, budgets, orgs, teams, users } from '../../drizzle/schema/index.js';
import { analyse } from '../../src/analytics/analyse.js';
import { addDays, daysBetween } from '../../src/analytics/days.js';
import { analyticsFindings } from '../../src/analytics/findings.js';
import { visibleAnalysis } from '../../src/analytics/visible.js';
import { amountsBySubject, type FactsView, loadBudgetRules, loadBudgetSubjects, loadFactsView, loadRecommendationInput, loadTeamAncestors, scopeSeries } from '../../src/analytics/inputs.js';
import type { SeriesMetric } from '../../src/analytics/scope-series.js';
import { loadConfig } from '../../src/config/load.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { createPgliteDatabase, createPostgresDatabase, makeEvent, postgresAvailable, type TestDatabase } from '../usage/support.js';

const pgUp = await postgresAvailable();
const dayMs = 86_400_000;
const asOfMs = Date.UTC(2026, 10, 20, 12, 0, 0);
const window = { asOfMs, timeZone: 'UTC', lookbackDays: 30 };
const spikeDay = '2026-11-15';

const backends = [
  { name: 'Postgres', available: pgUp, open: () => createPostgresDatabase('analyse_inputs') },
  { name: 'PGlite', available: true, open: createPgliteDatabase },
];

for (const { name, available, open } of backends) describe.skipIf(!available)(`analytics inputs on ${name}`, () => {
  let db: TestDatabase;
  let uncapped: UsageEvent[] = [];

  beforeAll(async () => {
    db = await open();
    const d = db.database.db;
    await d.insert(orgs).values({ id: 'org_a', name: 'a' });
    await d.insert(teams).values([
      { id: 'top', orgId: 'org_a', parentId: null, name: 'top' },
      { id: 'sub', orgId: 'org_a', parentId: 'top', name: 'sub' },
    ]);
    await d.insert(users).values([
      { id: 'u_top', orgId: 'org_a', teamId: 'top', name: 'tess' },
      { id: 'u_sub', orgId: 'org_a', teamId: 'sub', name: 'sam' },
      { id: 'u_none', orgId: 'org_a', teamId: null, name: 'nia' },
    ]);
    const key = (id: string, userId: string, lastUsedDaysAgo: number) => ({
      id, orgId: 'org_a', userId, name: id, hash: id, prefix: id, createdAt: new Date(asOfMs - 100 * dayMs), lastUsedAt: new Date(asOfMs - lastUsedDaysAgo * dayMs),
    });
    await d.insert(apiKeys).values([key('k_sub', 'u_sub', 0), key('k_idle', 'u_sub', 40), key('k_top', 'u_top', 0), key('k_none', 'u_none', 10)]);
    await d.insert(budgets).values([
      { id: 'bud_team', orgId: 'org_a', scope: 'team', scopeId: 'top', metric: 'costMicros', window: 'month', limit: 60_000_000 },
      { id: 'bud_sam', orgId: 'org_a', scope: 'user', scopeId: 'u_sub', metric: 'costMicros', window: 'day', limit: 100_000_000 },
      { id: 'bud_ist', orgId: 'org_a', scope: 'key', scopeId: 'k_top', metric: 'requests', window: 'day', limit: 1000, timezone: 'Asia/Kolkata' },
      { id: 'bud_all', orgId: 'org_a', scope: 'key', scopeId: 'k_sub', metric: 'requests', window: 'total', limit: 40 },
    ]);
    // Every day from 2026-10-21 to today: sam $1 at 10:00 (with no max_tokens), tess $0.50 at 09:00; sam $20 more on the
    // spike day; nia $0.30 once; tess one request at 20:00 UTC, 01:30 the next day in Kolkata.
    const events: UsageEvent[] = [];
    let n = 0;
    const event = (day: string, hour: number, over: Partial<UsageEvent>) =>
      events.push(makeEvent(++n, { requestId: `r${n}`, timeMs: Date.parse(`${day}T00:00:00Z`) + hour * 3_600_000, orgId: 'org_a', tags: {}, unmetered: false, cachedTokens: 0, ...over }));
    for (let day = '2026-10-21'; day <= '2026-11-20'; day = addDays(day, 1)) {
      event(day, 10, { teamId: 'sub', userId: 'u_sub', keyId: 'k_sub', model: 'gpt-4o', costMicros: 1_000_000, maxTokensUnstated: true });
      event(day, 9, { teamId: 'top', userId: 'u_top', keyId: 'k_top', model: 'gpt-4o-mini', costMicros: 500_000 });
    }
    event(spikeDay, 11, { teamId: 'sub', userId: 'u_sub', keyId: 'k_sub', model: 'gpt-4o', costMicros: 20_000_000 });
    event('2026-11-10', 8, { teamId: null, userId: 'u_none', keyId: 'k_none', model: 'gpt-4o', costMicros: 300_000 });
    event('2026-11-18', 20, { teamId: 'top', userId: 'u_top', keyId: 'k_top', model: 'gpt-4o-mini', costMicros: 1 });
    // After the analysis instant: never counted.
    event('2026-11-20', 13, { teamId: 'sub', userId: 'u_sub', keyId: 'k_sub', model: 'gpt-4o', costMicros: 7_000_000 });
    uncapped = events.filter((e) => e.maxTokensUnstated === true && e.timeMs <= asOfMs);
    const written = await writeUsageEvents(d, events);
    expect(written.rejected).toEqual([]);
  });

  afterAll(async () => {
    await db?.drop();
  });

  const view = async (timeZone = 'UTC', metric: SeriesMetric = 'costMicros'): Promise<FactsView> =>
    loadFactsView(db.database.db, 'org_a', { ...window, timeZone }, await loadTeamAncestors(db.database.db, 'org_a'), metric);

  it('gives each scope one amount per complete day, a team counting the teams below it', async () => {
    const series = scopeSeries(await view(), ['team', 'user', 'model']);
    const of = (scope: string, id: string) => series.find((s) => s.scope === scope && s.scopeId === id)!;
    const top = of('team', 'top');
    expect(top).toMatchObject({ firstDay: '2026-10-21', metric: 'costMicros' });
    expect(top.amounts).toHaveLength(30);
    const spikeAt = daysBetween('2026-10-21', spikeDay);
    expect(top.amounts[spikeAt]).toBe(21_500_000);
    expect(top.amounts[0]).toBe(1_500_000);
    expect(top.amounts[daysBetween('2026-10-21', '2026-11-18')]).toBe(1_500_001);
    expect(of('team', 'sub').amounts[spikeAt]).toBe(21_000_000);
    expect(of('user', 'u_none').amounts.reduce((a, b) => a + b)).toBe(300_000);
    expect(of('model', 'gpt-4o').amounts.reduce((a, b) => a + b)).toBe(30 * 1_000_000 + 20_000_000 + 300_000);
  });

  it('puts an hour on the local day it starts in: 20:00 UTC is the next day in Kolkata', async () => {
    const by = amountsBySubject(await view('Asia/Kolkata', 'requests'), 'key');
    const kolkataDays = by.get('k_top')!.filter((p) => p.day === '2026-11-18' || p.day === '2026-11-19');
    expect(kolkataDays.sort((a, b) => a.day.localeCompare(b.day))).toEqual([{ day: '2026-11-18', amount: 1 }, { day: '2026-11-19', amount: 2 }]);
    const utcDays = amountsBySubject(await view('UTC', 'requests'), 'key').get('k_top')!.filter((p) => p.day === '2026-11-18' || p.day === '2026-11-19');
    expect(utcDays.sort((a, b) => a.day.localeCompare(b.day))).toEqual([{ day: '2026-11-18', amount: 2 }, { day: '2026-11-19', amount: 1 }]);
  });

  it('loads each budget subject with its history, what the period has used and the days left', async () => {
    const rules = await loadBudgetRules(db.database.db, 'org_a');
    const subjects = await loadBudgetSubjects(db.database.db, rules, view, { totalHorizonDays: 30, maxSubjectsPerRule: 10 });
    const team = subjects.find((s) => s.rule.id === 'bud_team')!;
    // November 1–19 at $1.50 a day, the $20 spike, and today's $1.50 before noon.
    expect(team).toMatchObject({ subjectId: 'top', usedAmount: 19 * 1_500_000 + 1 + 20_000_000 + 1_500_000, firstForecastDay: '2026-11-20', horizonDays: 11, firstDayShareAhead: 0.5 });
    expect(team.history).toHaveLength(30);
    const sam = subjects.find((s) => s.rule.id === 'bud_sam')!;
    expect(sam).toMatchObject({ usedAmount: 1_000_000, horizonDays: 1 });
    expect(sam.periods).toHaveLength(30);
    expect(Math.max(...sam.periods)).toBe(21_000_000);
    // All time, not just the look-back: 31 daily requests and the spike, none after the analysis instant.
    expect(subjects.find((s) => s.rule.id === 'bud_all')).toMatchObject({ subjectId: 'k_sub', usedAmount: 32, horizonDays: 30, periods: [] });
  });

  it('loads the recommendation facts: keys with last use and spend, users, teams, every rule and per-model use', async () => {
    const rules = await loadBudgetRules(db.database.db, 'org_a');
    const input = await loadRecommendationInput(db.database.db, await view(), asOfMs, 30, rules, []);
    expect(input.keys.find((k) => k.id === 'k_idle')).toMatchObject({ live: true, costMicros: 0, lastUsedAtMs: asOfMs - 40 * dayMs });
    expect(input.users.find((u) => u.id === 'u_none')).toMatchObject({ teamId: null, costMicros: 300_000 });
    expect(input.teams).toEqual(expect.arrayContaining([{ id: 'sub', parentId: 'top' }]));
    expect(input.budgets.map((b) => b.id).sort()).toEqual(['bud_all', 'bud_ist', 'bud_sam', 'bud_team']);
    const gpt4o = input.models.find((m) => m.model === 'gpt-4o')!;
    // The 30 complete days before today and today so far: sam's $1 on each of 31 days, the spike and nia's.
    expect(gpt4o.costMicros).toBe(31 * 1_000_000 + 20_000_000 + 300_000);
    expect(gpt4o.requests).toBe(33);
  });

  it('analyses the org: a forecast per budget subject, the spike as an anomaly, recommendations, and alert findings', async () => {
    const analysis = await analyse(db.database.db, 'org_a', { asOfMs, lookbackDays: 30, catalog: loadConfig({ env: {} }).catalog });
    const team = analysis.forecasts!.find((f) => f.budgetId === 'bud_team')!;
    expect(team.forecast).toMatchObject({ method: 'damped-trend-weekly', usedAmount: 50_000_001, limitAmount: 60_000_000, periodLastDay: '2026-11-30', exhausted: false });
    expect(team.forecast.runOutDay! >= '2026-11-20' && team.forecast.runOutDay! <= '2026-11-30').toBe(true);
    expect(analysis.anomalies!.map((a) => `${a.scope}:${a.scopeId}:${a.day}`).sort()).toEqual(
      ['key:k_sub', 'model:gpt-4o', 'team:sub', 'team:top', 'user:u_sub'].map((s) => `${s}:${spikeDay}`),
    );
    const kinds = analysis.recommendations!.map((r) => `${r.kind}:${r.subject.id}`);
    expect(kinds).toEqual(expect.arrayContaining(['idle_key:k_idle', 'unbudgeted_key:k_none', 'unbudgeted_user:u_none']));
    expect(kinds).not.toContain('unbudgeted_user:u_top');

    const findings = analyticsFindings(analysis);
    const exhaustion = findings.find((f) => f.fingerprint === 'analytics:exhaustion:bud_team:top:2026-11-30')!;
    expect(exhaustion).toMatchObject({ name: 'budget.projected_exhaustion', firing: true, orgId: 'org_a', scope: { type: 'team', id: 'top' }, figures: { limit: 60_000_000, runOutDay: team.forecast.runOutDay } });
    expect(findings.find((f) => f.fingerprint === `analytics:anomaly:user:u_sub:costMicros:${spikeDay}`)).toMatchObject({ name: 'usage.anomaly', severity: 'high', firing: true });
    // The same analysis gives the same fingerprints: re-evaluating never duplicates an alert.
    expect(analyticsFindings(await analyse(db.database.db, 'org_a', { asOfMs, lookbackDays: 30 })).map((f) => f.fingerprint).sort()).toEqual(findings.map((f) => f.fingerprint).sort());
  });

  it('recommends max_tokens where most requests stated none, with the count, the share and the output reserved against what they used', async () => {
    const catalog = loadConfig({ env: {} }).catalog;
    const analysis = await analyse(db.database.db, 'org_a', { asOfMs, lookbackDays: 30, catalog, recommendations: true });
    const found = analysis.recommendations!.filter((r) => r.kind === 'uncapped_requests');
    const cap = catalog.resolve('gpt-4o')!.maxOutputTokens;
    // sam's 31 requests of the 30 days and today so far; the spike and nia's stated max_tokens.
    expect(uncapped).toHaveLength(31);
    const used = uncapped.reduce((s, e) => s + e.completionTokens, 0);
    expect(found).toEqual([
      expect.objectContaining({
        subject: { type: 'model', id: 'gpt-4o' },
        figures: expect.objectContaining({ requests: 33, uncappedRequests: 31, uncappedSharePct: 93.9, catalogMaxOutputTokens: cap, reservedOutputTokens: 31 * cap, usedOutputTokens: used }),
      }),
    ]);
    expect(found[0]!.message).toContain(`31 of 33 gpt-4o requests (93.9%) sent no max_tokens`);
  });

  it('cuts the analysis to what a manager or a developer may see', async () => {
    const analysis = await analyse(db.database.db, 'org_a', { asOfMs, lookbackDays: 30, catalog: loadConfig({ env: {} }).catalog });
    const lines = (a: typeof analysis) => [
      ...a.forecasts!.map((f) => `forecast:${f.scope}:${f.subjectId}`),
      ...a.anomalies!.map((x) => `anomaly:${x.scope}:${x.scopeId}`),
      ...a.recommendations!.map((r) => `${r.kind}:${r.subject.id}`),
    ].sort();
    // A manager of `sub`: that team, sam and sam's keys; not the team above, nia, or per-model lines.
    const manager = await visibleAnalysis(db.database.db, analysis, { orgId: 'org_a', teamIds: ['sub'], userId: null });
    expect(lines(manager)).toEqual(['anomaly:key:k_sub', 'anomaly:team:sub', 'anomaly:user:u_sub', 'forecast:key:k_sub', 'forecast:user:u_sub', 'idle_key:k_idle']);
    // nia sees only her own lines.
    const developer = await visibleAnalysis(db.database.db, analysis, { orgId: 'org_a', teamIds: null, userId: 'u_none' });
    expect(lines(developer)).toEqual(['unbudgeted_key:k_none', 'unbudgeted_user:u_none']);
    expect(await visibleAnalysis(db.database.db, analysis, { orgId: 'org_a', teamIds: null, userId: null })).toBe(analysis);
  });

  it('runs only the sections asked for', async () => {
    const analysis = await analyse(db.database.db, 'org_a', { asOfMs, lookbackDays: 30, anomalies: true });
    expect(Object.keys(analysis).sort()).toEqual(['anomalies', 'asOf', 'lookbackDays', 'orgId', 'timeZone']);
  });
});
