// `tollgate report` as a user runs it: through the admin API of a running gateway (TOLLGATE_URL, the
// PDF arriving as bytes) and offline on an embedded database, each format agreeing on the totals.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import type { Report } from '../../src/analytics/report-data.js';
import { count, usd } from '../../src/analytics/report-format.js';
import { openDatabase } from '../../src/db/database.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';
import { type AdminFixture, startAdminFixture } from '../admin/support.js';
import { runCli } from '../helpers/processes.js';
import { seedEvents, seedUsage } from './seed.js';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-report-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pdfTotals = (file: string) => {
  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  return text.split('\n').find((line) => /^(org|team|user|key) /.test(line))!.split(/\s{2,}/).slice(1);
};
const expectedCells = (r: Report) => [count(r.totals.requests), count(r.totals.errors), count(r.totals.inputTokens), count(r.totals.cachedTokens), count(r.totals.outputTokens), count(r.totals.reasoningTokens), usd(r.totals.costMicros)];

describe('tollgate report through the admin API', () => {
  let mock: MockUpstream;
  let f: AdminFixture;
  let env: Record<string, string>;

  beforeAll(async () => {
    mock = await startMockUpstream();
    f = await startAdminFixture(mock);
    // The seeded events, moved into the fixture's org and onto its manager's team and user.
    const events = seedEvents(800).map((e) => ({ ...e, orgId: f.orgId, teamId: e.teamId && f.teams.research, userId: e.teamId ? f.users.mgr : e.userId }));
    await writeUsageEvents(f.gw.app.database.db, events);
    env = { TOLLGATE_URL: f.gw.url, TOLLGATE_ADMIN_KEY: f.tokens.admin };
  }, 120_000);

  afterAll(async () => {
    await f?.gw.close();
    await mock?.close();
  });

  it('writes JSON, CSV, HTML and PDF reports of a month that agree on the totals', async () => {
    const run = async (format: string, extra: string[] = []) => {
      const result = await runCli(['report', '--org', 'acme', '--period', '2026-11', '--tz', 'America/New_York', '--format', format, ...extra], env);
      expect(result.code, result.stderr).toBe(0);
      return result.stdout;
    };
    const report = JSON.parse(await run('json')) as Report;
    expect(report.totals.requests).toBeGreaterThan(100);
    const pdf = join(dir, 'http.pdf');
    await run('pdf', ['--out', pdf]);
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdfTotals(pdf)).toEqual(expectedCells(report));
    const csv = await run('csv');
    expect(csv.split('\n')[1]!.split(',').slice(6, 13).map(Number)).toEqual([report.totals.requests, report.totals.errors, report.totals.inputTokens, report.totals.cachedTokens, report.totals.outputTokens, report.totals.reasoningTokens, report.totals.costMicros]);
    const html = join(dir, 'http.html');
    await run('html', ['--out', html]);
    expect(readFileSync(html, 'utf8')).toContain(usd(report.totals.costMicros));
  }, 120_000);

  it("narrows to a team by name, and refuses a manager's org-wide report", async () => {
    const team = await runCli(['report', '--org', 'acme', '--team', 'research', '--from', '2026-11-01', '--to', '2026-11-04', '--format', 'json'], env);
    expect(team.code, team.stderr).toBe(0);
    expect((JSON.parse(team.stdout) as Report).scope).toMatchObject({ kind: 'team', name: 'research' });
    const refused = await runCli(['report', '--org', 'acme', '--period', '2026-11'], { ...env, TOLLGATE_ADMIN_KEY: f.tokens.manager });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(forbidden)');
    const asManager = await runCli(['report', '--org', 'acme', '--team', 'research', '--period', '2026-11'], { ...env, TOLLGATE_ADMIN_KEY: f.tokens.manager });
    expect(asManager.code, asManager.stderr).toBe(0);
  }, 120_000);
});

describe('tollgate report offline on the embedded database', () => {
  const dataDir = join(dir, 'data');

  beforeAll(async () => {
    const database = await openDatabase({ dataDir });
    await database.migrate();
    await seedUsage(database.db, 800);
    await database.close();
  }, 120_000);

  it('writes the PDF and JSON of a Kolkata report with the same totals', async () => {
    const env = { TOLLGATE_DATA_DIR: dataDir };
    const args = ['report', '--org', 'a', '--user', 'dev', '--from', '2026-10-27', '--to', '2026-11-04', '--tz', 'Asia/Kolkata'];
    const json = await runCli([...args, '--format', 'json'], env);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as Report;
    expect(report.scope).toMatchObject({ kind: 'user', id: 'usr_dev' });
    const pdf = join(dir, 'offline.pdf');
    const written = await runCli([...args, '--format', 'pdf', '--out', pdf], env);
    expect(written.code, written.stderr).toBe(0);
    expect(pdfTotals(pdf)).toEqual(expectedCells(report));
    const bad = await runCli(['report', '--org', 'a', '--format', 'pdf'], env);
    expect(bad.code).toBe(2);
  }, 120_000);
});
