// Every metric the shipped Grafana dashboard and alert rules query is one a running gateway
// exposes on /metrics. A gateway on Redis and Postgres (as the chart deploys it) answers a few
// requests, then its scrape's families are compared with the names each PromQL expression selects
// (a histogram's _bucket, _sum and _count series belong to its family).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { openDatabase } from '../../src/db/database.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl, uniquePrefix } from '../helpers/services.js';
import { renderChart } from '../helm/render.js';
import { metricFamilyOf, promqlMetricNames, scrapeFamilies } from './promql.js';

const chartDir = fileURLToPath(new URL('../../helm/tollgate', import.meta.url));
const stores = (await redisAvailable()) && (await postgresAvailable());

interface Dashboard {
  panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }>;
}

const dashboard = JSON.parse(readFileSync(`${chartDir}/dashboards/tollgate.json`, 'utf8')) as Dashboard;
const dashboardQueries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => ({ where: `dashboard panel "${panel.title}"`, expr: t.expr })));

type RuleDoc = { kind: string; spec: { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> } };
const ruleDoc = renderChart(chartDir, 'tg', { prometheusRule: { enabled: true } }).files.get('prometheusrule.yaml')![0] as RuleDoc;
const ruleQueries = ruleDoc.spec.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));

describe.skipIf(!stores)('the shipped dashboard and alert rules against a running gateway', () => {
  let mock: MockUpstream;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestGateway;
  let families: Map<string, string>;

  beforeAll(async () => {
    mock = await startMockUpstream();
    database = await createTestDatabase('dashboard_metrics');
    const migrated = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    await migrated.migrate();
    await migrated.close();
    gateway = await startTestGateway({
      mock,
      env: { DATABASE_URL: database.url, REDIS_URL: redisUrl, TOLLGATE_REDIS_KEY_PREFIX: uniquePrefix('dashboard') },
      overrides: { 'budget.budgets': [{ scope: 'org', scopeId: '*', metric: 'tokens', window: 'day', limit: 1_000_000 }] },
    });
    const openai = new OpenAI({ apiKey: gateway.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const anthropic = new Anthropic({ apiKey: gateway.key, baseURL: gateway.url, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi [mock prompt_tokens=5]' }] });
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi [mock chunks=3]' }] });
    for await (const _ of stream);
    await anthropic.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    families = scrapeFamilies(await (await fetch(`${gateway.url}/metrics`)).text());
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
    await database?.drop();
  });

  it('scrapes the gateway\'s own counters with the requests just made', () => {
    expect(families.get('tollgate_requests_total')).toBe('counter');
    expect(families.get('tollgate_gateway_overhead_seconds')).toBe('histogram');
  });

  it.each([...dashboardQueries, ...ruleQueries])('$where queries only metrics the gateway exposes', ({ expr }) => {
    const names = promqlMetricNames(expr);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => metricFamilyOf(name, families) === undefined)).toEqual([]);
  });

  it('covers the data plane, budgets and the usage pipeline', () => {
    const queried = new Set([...dashboardQueries, ...ruleQueries].flatMap(({ expr }) => promqlMetricNames(expr).map((n) => metricFamilyOf(n, families))));
    for (const family of ['tollgate_requests_total', 'tollgate_cost_micros_total', 'tollgate_budget_denials_total', 'tollgate_usage_oldest_pending_age_seconds', 'tollgate_usage_flush_errors_total']) {
      expect(queried, family).toContain(family);
    }
  });
});

describe('reading metric names', () => {
  const families = new Map([['h_seconds', 'histogram'], ['s_seconds', 'summary'], ['c_total', 'counter']]);

  it('takes a histogram\'s and a summary\'s series suffixes off their family, and nothing else\'s', () => {
    expect(metricFamilyOf('h_seconds_bucket', families)).toBe('h_seconds');
    expect(metricFamilyOf('h_seconds_count', families)).toBe('h_seconds');
    expect(metricFamilyOf('s_seconds_sum', families)).toBe('s_seconds');
    expect(metricFamilyOf('s_seconds_bucket', families)).toBeUndefined();
    expect(metricFamilyOf('c_total_count', families)).toBeUndefined();
    expect(metricFamilyOf('missing_total', families)).toBeUndefined();
  });

  it('reads the selected metrics out of PromQL, and refuses what does not parse', () => {
    expect(promqlMetricNames('sum by (le) (rate(a_bucket{x="b"}[$__rate_interval])) / on() group_left sum(b_total offset 1d)').sort()).toEqual(['a_bucket', 'b_total']);
    expect(() => promqlMetricNames('sum(rate(a_total[5m])')).toThrow(/does not parse/);
  });
});
