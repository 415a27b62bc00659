// `tollgate loadtest`, the real CLI, against a real gateway in front of the mock upstream. Every
// key may make 30 requests in total, so runs that offer more must report the rest as
// 429 budget_exceeded, and a sweep must stop at the step that runs out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/processes.js';

const requestsPerKey = 30;

describe('tollgate loadtest', () => {
  let mock: MockUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startTestGateway({
      mock,
      env: { TOLLGATE_BUDGET__BUDGETS: JSON.stringify([{ scope: 'key', scopeId: '*', metric: 'requests', window: 'total', limit: requestsPerKey }]) },
    });
  }, 30_000);

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  const loadtest = (key: string, args: string[]) => runCli(['loadtest', '--target', gateway.url, '--key', key, ...args], {});

  it('offers a fixed rate, counts every answer, and reports budget_exceeded and the gateway overhead', async () => {
    const { key } = await gateway.newKey();
    const result = await loadtest(key, ['--rate', '40', '--duration', '3', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.sent).toBe(120);
    expect(report.dropped).toBe(0);
    expect(report.answered).toBe(report.sent);
    expect(report.achievedRate).toBeGreaterThan(40 * 0.85);
    expect(report.achievedRate).toBeLessThan(40 * 1.15);
    expect(report.ok).toBe(requestsPerKey);
    expect(report.errors).toEqual([{ status: 429, code: 'budget_exceeded', count: 120 - requestsPerKey }]);
    expect(report.ok + report.errors.reduce((n: number, e: { count: number }) => n + e.count, 0)).toBe(report.answered);
    expect(report.overheadMs.answers).toBe(120);
    expect(report.overheadMs.p50).toBeGreaterThan(0);
    expect(report.latencyMs.p99).toBeGreaterThanOrEqual(report.latencyMs.p50);
    expect(report.latencyMs.max).toBeGreaterThanOrEqual(report.overheadMs.max);
  });

  it('reads streams to the end and prints a report people can read', async () => {
    const { key } = await gateway.newKey();
    const result = await loadtest(key, ['--rate', '10', '--duration', '2', '--stream']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/10 req\/s offered \(open loop\) for 2 s: achieved \d/);
    expect(result.stdout).toMatch(/requests +20 sent, 20 answered, 20 ok, 0 failed, 0 dropped/);
    expect(result.stdout).toMatch(/overhead ms +p50 [\d.]+ +p90 [\d.]+ +p99 [\d.]+ +max [\d.]+ +\(x-tollgate-overhead-ms on 20 answers\)/);
  });

  it('runs closed loop with --connections', async () => {
    const { key } = await gateway.newKey();
    const result = await loadtest(key, ['--connections', '2', '--duration', '1', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.connections).toBe(2);
    expect(report.ok).toBe(requestsPerKey);
    expect(report.answered).toBe(report.sent);
  });

  it('sweeps the rate up and stops at the step whose errors break the bound', async () => {
    const { key } = await gateway.newKey();
    const result = await loadtest(key, ['--rate', '20', '--step', '20', '--max-rate', '80', '--duration', '1', '--sweep', '--max-error-rate', '0.05', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.steps.map((s: { rate: number; broke: string | null }) => [s.rate, s.broke])).toEqual([
      [20, null],
      [40, 'errors'],
    ]);
    expect(report.steps[1].errors).toEqual([{ status: 429, code: 'budget_exceeded', count: 30 }]);
    expect(report.sustainedRate).toBe(20);
  });

  it('refuses unclear instructions with a usage error', async () => {
    const [both, noKey, badTarget] = await Promise.all([
      loadtest('k', ['--rate', '1', '--connections', '1']),
      runCli(['loadtest', '--target', gateway.url, '--rate', '1'], {}),
      runCli(['loadtest', '--target', 'ftp://x', '--key', 'k', '--rate', '1'], {}),
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give one of --rate R/);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/needs --key/);
    expect(badTarget.code).toBe(2);
    expect(badTarget.stderr).toMatch(/--target must be/);
  });
});
