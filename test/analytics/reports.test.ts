// Usage reports: totals equal `select sum(...) from usage_events` for the report's local days on
// Postgres and PGlite; every section adds up to the totals; the CSV parses back to the same numbers
// with formula-like names neutralised; the HTML report renders its SVG charts in headless Chromium
// without a single network request; the PDF's extracted text shows the same totals.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageMeasures } from '../../src/analytics/query.js';
import { buildReport, type Report } from '../../src/analytics/report-data.js';
import { count, usd } from '../../src/analytics/report-format.js';
import { renderReport } from '../../src/analytics/report-render.js';
import { parseCsv } from '../../src/control/csv.js';
import { everything } from '../../src/control/visibility.js';
import { createPgliteDatabase, createPostgresDatabase, postgresAvailable, type TestDatabase } from '../usage/support.js';
import { seedUsage } from './seed.js';

const pgUp = await postgresAvailable();
const chromiumPath = '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const havePdftotext = (() => {
  try {
    execFileSync('pdftotext', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const counters = ['requests', 'errors', 'inputTokens', 'cachedTokens', 'outputTokens', 'reasoningTokens', 'costMicros'] as const;

const backends: Array<[string, boolean, () => Promise<TestDatabase>]> = [
  ['Postgres', pgUp, () => createPostgresDatabase('analytics_reports')],
  ['PGlite', true, createPgliteDatabase],
];

describe.each(backends)('reports on %s', (_name, available, open) => {
  let test: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-report-'));

  beforeAll(async () => {
    test = await open();
    await seedUsage(test.database.db);
  }, 120_000);
  afterAll(async () => {
    await test?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const report = (r: Partial<Parameters<typeof buildReport>[2]> = {}) =>
    buildReport(test.database.db, everything, { orgId: 'org_a', from: '2026-10-27', to: '2026-11-04', tz: 'Asia/Kolkata', top: 2, nowMs: Date.parse('2026-12-02T00:00:00Z'), ...r });

  async function ledger(fromIso: string, toIso: string, extra = sql``) {
    const result = (await test.database.db.execute(sql`
      select count(*)::bigint as requests, count(*) filter (where status >= 400 or error_code is not null)::bigint as errors,
        sum(prompt_tokens)::bigint as input, sum(cached_tokens)::bigint as cached, sum(completion_tokens)::bigint as output,
        sum(reasoning_tokens)::bigint as reasoning, sum(cost_micros)::bigint as cost
      from usage_events where org_id = 'org_a' and time >= ${fromIso}::timestamptz and time < ${toIso}::timestamptz ${extra}`)) as unknown as { rows: Array<Record<string, string>> };
    const r = result.rows[0]!;
    return { requests: Number(r.requests), errors: Number(r.errors), inputTokens: Number(r.input), cachedTokens: Number(r.cached), outputTokens: Number(r.output), reasoningTokens: Number(r.reasoning), costMicros: Number(r.cost) };
  }

  function expectSectionsAddUp(r: Report) {
    for (const k of counters) {
      const sum = (lines: ReadonlyArray<UsageMeasures>) => lines.reduce((s, l) => s + l[k], 0);
      expect([k, sum(r.byDay), sum(r.byModel), sum([...r.byTeam.top, ...(r.byTeam.rest ? [r.byTeam.rest] : [])]), sum([...r.byUser.top, ...(r.byUser.rest ? [r.byUser.rest] : [])]), sum([...r.byKey.top, ...(r.byKey.rest ? [r.byKey.rest] : [])])]).toEqual([
        k, r.totals[k], r.totals[k], r.totals[k], r.totals[k], r.totals[k],
      ]);
    }
  }

  it.skipIf(!available)("totals equal the ledger's sums for Kolkata days and a New York month across the DST change", async () => {
    const kolkata = await report();
    // 2026-10-27 00:00 +05:30 .. 2026-11-05 00:00 +05:30.
    expect(kolkata.totals).toMatchObject(await ledger('2026-10-26T18:30:00Z', '2026-11-04T18:30:00Z'));
    expect(kolkata.totals.requests).toBeGreaterThan(100);
    expect(kolkata.byDay.map((d) => d.day)).toEqual(['2026-10-27', '2026-10-28', '2026-10-29', '2026-10-30', '2026-10-31', '2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04']);
    expect(kolkata.byDay.find((d) => d.day === '2026-11-02')).toMatchObject(await ledger('2026-11-01T18:30:00Z', '2026-11-02T18:30:00Z'));
    expectSectionsAddUp(kolkata);
    // Each listed user and key is its own ledger sum, the costliest first.
    for (const [lines, column] of [[kolkata.byUser.top, sql`user_id`], [kolkata.byKey.top, sql`key_id`]] as const) {
      expect(lines.map((l) => l.costMicros)).toEqual(lines.map((l) => l.costMicros).toSorted((a, b) => b - a));
      for (const line of lines) expect(line).toMatchObject(await ledger('2026-10-26T18:30:00Z', '2026-11-04T18:30:00Z', sql`and ${column} = ${line.id}`));
    }
    // November in New York: EDT until the 1st at 06:00 UTC, EST after.
    const november = await report({ from: '2026-11-01', to: '2026-11-30', tz: 'America/New_York' });
    expect(november.totals).toMatchObject(await ledger('2026-11-01T04:00:00Z', '2026-12-01T05:00:00Z'));
    expect(november.byDay.find((d) => d.day === '2026-11-01')).toMatchObject(await ledger('2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z'));
    expectSectionsAddUp(november);
  });

  it.skipIf(!available)('narrows to a team with its sub-teams, and lists the budgets that apply to it with used, limit and forecast', async () => {
    const team = await report({ teamId: 'team_research' });
    expect(team.scope).toEqual({ kind: 'team', id: 'team_research', name: 'research' });
    expect(team.totals).toMatchObject(await ledger('2026-10-26T18:30:00Z', '2026-11-04T18:30:00Z', sql`and team_id in ('team_research', 'team_ml')`));
    expect(new Set(team.byTeam.top.map((t) => t.name))).toEqual(new Set(['research', 'ml']));
    expectSectionsAddUp(team);
    // The org's and the team's own budgets and the budget of a user inside; not the sales team's.
    expect(team.budgets.map((b) => b.budgetId).sort()).toEqual(['bud_dev', 'bud_org', 'bud_research']);
    const research = team.budgets.find((b) => b.budgetId === 'bud_research')!;
    expect(research).toMatchObject({ scope: 'team', subject: { id: 'team_research', name: 'research' }, metric: 'tokens', window: 'month', limit: 2_000_000 });
    expect(research.forecastP10).toBeLessThanOrEqual(research.forecastP50);
    expect(research.forecastP50).toBeLessThanOrEqual(research.forecastP90);
    await expect(report({ teamId: 'team_research', userId: 'usr_dev' })).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it.skipIf(!available)('writes a CSV that parses back to the same numbers, with formula-like names neutralised', async () => {
    const r = await report({ top: 10 });
    const [header, ...rows] = parseCsv((await renderReport(r, 'csv')).body as string);
    const records = rows.map((row) => Object.fromEntries(header!.map((h, i) => [h, row[i] ?? ''])));
    const numbers = (rec: Record<string, string>) => ({
      requests: Number(rec.requests), errors: Number(rec.errors), inputTokens: Number(rec.input_tokens), cachedTokens: Number(rec.cached_tokens),
      outputTokens: Number(rec.output_tokens), reasoningTokens: Number(rec.reasoning_tokens), costMicros: Number(rec.cost_micros),
    });
    const total = records.find((rec) => rec.section === 'total')!;
    expect(numbers(total)).toEqual(Object.fromEntries(counters.map((k) => [k, r.totals[k]])));
    for (const section of ['day', 'model', 'team', 'user', 'key']) {
      const sum = records.filter((rec) => rec.section === section).reduce((s, rec) => s + numbers(rec).costMicros, 0);
      expect([section, sum]).toEqual([section, r.totals.costMicros]);
    }
    expect(records.filter((rec) => rec.section === 'day').map((rec) => rec.day)).toEqual(r.byDay.map((d) => d.day));
    const formulaKey = records.find((rec) => rec.id === 'key_olga_1')!;
    expect(formulaKey.name).toBe(`'=HYPERLINK("http://example.com","olga")`);
    expect(records.filter((rec) => rec.section === 'budget').map((rec) => rec.id).sort()).toEqual(['org_a', 'team_research', 'team_sales', 'usr_dev']);
  });

  it.skipIf(!available || !haveChromium)('renders the HTML report with its SVG charts in headless Chromium without any network request', async () => {
    const r = await report();
    const file = join(dir, 'report.html');
    writeFileSync(file, (await renderReport(r, 'html')).body);
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update'] });
    try {
      const page = await browser.newPage();
      const requested: string[] = [];
      page.on('request', (req) => requested.push(req.url()));
      await page.goto(`file://${file}`, { waitUntil: 'load' });
      const charts = await page.$$eval('svg', (svgs) => svgs.map((s) => ({ bars: s.querySelectorAll('rect').length, width: s.getBoundingClientRect().width, height: s.getBoundingClientRect().height })));
      expect(charts.length).toBe(2);
      expect(charts[0]!.bars).toBe(r.byDay.length);
      expect(charts[1]!.bars).toBe(r.byModel.length);
      for (const c of charts) expect(c.width * c.height).toBeGreaterThan(10_000);
      const text = await page.innerText('body');
      expect(text).toContain(usd(r.totals.costMicros));
      expect(text).toContain(count(r.totals.requests));
      expect(requested).toEqual([`file://${file}`]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it.skipIf(!available || !havePdftotext)('writes a PDF whose extracted text shows the same totals, days and models', async () => {
    const r = await report();
    const pdf = (await renderReport(r, 'pdf')).body as Buffer;
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const file = join(dir, 'report.pdf');
    writeFileSync(file, pdf);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    const totalsLine = text.split('\n').find((line) => line.startsWith('org a'))!;
    expect(totalsLine.split(/\s{2,}/).slice(1)).toEqual([count(r.totals.requests), count(r.totals.errors), count(r.totals.inputTokens), count(r.totals.cachedTokens), count(r.totals.outputTokens), count(r.totals.reasoningTokens), usd(r.totals.costMicros)]);
    for (const d of r.byDay) expect(text).toMatch(new RegExp(`${d.day}\\s.*\\${usd(d.costMicros)}`));
    for (const m of r.byModel) expect(text).toContain(`${m.provider}/${m.model}`);
    expect(text).toContain('Budgets');
  });
});
