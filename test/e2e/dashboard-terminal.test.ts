// `tollgate dashboard` in a real terminal: tmux runs a shell on its own socket, the CLI is typed
// into it against a gateway with the mock upstream (TOLLGATE_URL and an admin key, as a remote
// operator would), and what the terminal shows is read back with capture-pane.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/processes.js';
import { chatStatus } from '../helpers/requests.js';

const bin = fileURLToPath(new URL('../../bin/tollgate.js', import.meta.url));
const socket = `tg-dashboard-${process.pid}`;
const tmuxAvailable = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', 'dash');
const typeLine = (line: string) => {
  tmux('send-keys', '-t', 'dash', '-l', line);
  tmux('send-keys', '-t', 'dash', 'Enter');
};

describe.skipIf(!tmuxAvailable)('tollgate dashboard in a terminal', () => {
  let mock: MockUpstream;
  let gateway: TestGateway;
  let adminKey: string;
  let socketPath: string | undefined;

  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startTestGateway({ mock });
    ({ key: adminKey } = await gateway.admin.call('POST', '/admin-keys', { body: { name: 'dashboard', role: 'admin' } }));
    await gateway.admin.call('PUT', '/budgets', { body: { scope: 'user', scopeId: gateway.created.userId, metric: 'tokens', window: 'day', limit: 1_000_000 } });
    // A clean environment: the shell must not inherit the test runner's (NODE_OPTIONS and the like).
    tmux('new-session', '-d', '-x', '120', '-y', '40', '-s', 'dash', `env -i PATH='${process.env.PATH}' HOME='${process.env.HOME}' TERM=screen PS1='tg$ ' bash --norc --noprofile`);
    socketPath = tmux('display-message', '-p', '#{socket_path}').trim();
  });

  afterAll(async () => {
    try {
      tmux('kill-server');
    } catch {
      // Already gone: nothing was started or the server ended with its last session.
    }
    // tmux leaves its socket file behind when its server is killed.
    if (socketPath) rmSync(socketPath, { force: true });
    await gateway?.close();
    await mock?.close();
  });

  it('draws, refreshes with new traffic, switches panels and leaves the terminal clean on q', { timeout: 180_000 }, async () => {
    await expect.poll(screen, { timeout: 10_000 }).toContain('tg$');
    typeLine(`TOLLGATE_URL=${gateway.url} TOLLGATE_ADMIN_KEY=${adminKey} LOG_LEVEL=warn ${process.execPath} ${bin} dashboard --org acme`);
    // Generous: the CLI starts through the TypeScript loader, on a machine other suites share.
    await expect.poll(screen, { timeout: 60_000, interval: 250 }).toMatch(/Requests \S+ \(0 total\)/);
    const drawn = screen();
    expect(drawn).toContain(`Tollgate dashboard  ${gateway.url}  org acme`);
    expect(drawn).toContain('[1 Overview]');
    expect(drawn).toContain('No alerts firing.');
    expect(tmux('display-message', '-p', '-t', 'dash', '#{alternate_on} #{cursor_flag}').trim()).toBe('1 0');

    for (let i = 0; i < 6; i++) expect(await chatStatus(gateway.url, gateway.key)).toBe(200);
    await expect.poll(screen, { timeout: 15_000 }).toContain('(6 total)');
    // The ledger catches up: alice tops today's users and her token budget shows its use.
    await expect.poll(screen, { timeout: 15_000 }).toMatch(/\$[\d.]+\s+6\s+[\d,]+\s+alice/);
    expect(screen()).toMatch(/\d+%.*tok of 1,000,000 tok\s+day\s+user alice/);

    tmux('send-keys', '-t', 'dash', '3');
    await expect.poll(screen, { timeout: 2_000 }).toContain('[3 Top users]');
    expect(screen()).toContain('Top users by spend today');
    expect(screen()).not.toContain('Budgets nearest their limits');
    tmux('send-keys', '-t', 'dash', 'Tab');
    await expect.poll(screen, { timeout: 2_000 }).toContain('[4 Alerts]');
    expect(screen()).toContain('Alerts firing (0)');

    tmux('send-keys', '-t', 'dash', 'q');
    await expect.poll(() => tmux('display-message', '-p', '-t', 'dash', '#{alternate_on} #{cursor_flag}').trim(), { timeout: 5_000 }).toBe('0 1');
    typeLine('echo "exit=$?"');
    await expect.poll(screen, { timeout: 5_000 }).toContain('exit=0');
    const after = screen();
    expect(after).not.toContain('Tollgate dashboard');
    expect(after.trimEnd().split('\n').at(-1)).toBe('tg$');
  });

  it('gives the terminal back on ctrl-c and when killed with SIGTERM', { timeout: 180_000 }, async () => {
    const start = async () => {
      typeLine('clear');
      typeLine(`TOLLGATE_URL=${gateway.url} TOLLGATE_ADMIN_KEY=${adminKey} ${process.execPath} ${bin} dashboard --panel alerts`);
      await expect.poll(screen, { timeout: 60_000, interval: 250 }).toContain('[4 Alerts]');
    };
    const state = () => tmux('display-message', '-p', '-t', 'dash', '#{alternate_on} #{cursor_flag}').trim();
    const exitCode = async () => {
      typeLine('echo "exit=$?"');
      await expect.poll(screen, { timeout: 5_000 }).toMatch(/exit=\d+/);
      return /exit=(\d+)/.exec(screen())![1];
    };

    await start();
    tmux('send-keys', '-t', 'dash', 'C-c');
    await expect.poll(state, { timeout: 5_000 }).toBe('0 1');
    expect(await exitCode()).toBe('0');

    await start();
    const shell = tmux('display-message', '-p', '-t', 'dash', '#{pane_pid}').trim();
    const cli = Number(execFileSync('pgrep', ['-P', shell], { encoding: 'utf8' }).trim());
    process.kill(cli, 'SIGTERM');
    await expect.poll(state, { timeout: 5_000 }).toBe('0 1');
    expect(await exitCode()).toBe('143');
    expect(screen()).not.toContain('Tollgate dashboard');
  });

  it('prints one JSON snapshot and every dependency\'s health, exiting 1 when the gateway is down', { timeout: 120_000 }, async () => {
    const env = { TOLLGATE_URL: gateway.url, TOLLGATE_ADMIN_KEY: adminKey };
    // An answered request puts the upstream provider on /metrics.
    expect(await chatStatus(gateway.url, gateway.key)).toBe(200);
    // Without TOLLGATE_URL the config's address is the gateway, and an embedded one is asked over HTTP.
    const local = { PORT: new URL(gateway.url).port, HOST: '127.0.0.1', TOLLGATE_ADMIN_KEY: adminKey, TOLLGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'tg-dash-cli-')) };
    const [snapshot, health, localHealth, down] = await Promise.all([
      runCli(['dashboard', '--org', 'acme', '--json'], env),
      runCli(['system', '--health', '--json'], env),
      runCli(['system', '--health', '--json'], local),
      runCli(['system', '--health'], { TOLLGATE_URL: 'http://127.0.0.1:9' }),
    ]);
    expect(snapshot.code, snapshot.stderr).toBe(0);
    expect(JSON.parse(snapshot.stdout)).toMatchObject({
      gateway: gateway.url, org: 'acme',
      traffic: { ok: true, value: { requestsTotal: expect.any(Number), requestsPerSecond: expect.any(Number) } },
      spend: { ok: true }, budgets: { ok: true }, alerts: { ok: true, value: [] },
    });
    expect(health.code, health.stdout).toBe(0);
    const report = JSON.parse(health.stdout);
    expect(report.status).toBe('healthy');
    expect(report.dependencies.map((d: { name: string; state: string }) => `${d.name}:${d.state}`)).toEqual(expect.arrayContaining(['gateway:ok', 'pglite:ok', 'usage ledger:ok', 'tokenizer pool:ok', 'openai:ok']));
    expect(localHealth.code, localHealth.stdout + localHealth.stderr).toBe(0);
    expect(JSON.parse(localHealth.stdout)).toMatchObject({ gateway: gateway.url, status: 'healthy', dependencies: expect.arrayContaining([expect.objectContaining({ name: 'openai', state: 'ok' })]) });
    rmSync(local.TOLLGATE_DATA_DIR, { recursive: true, force: true });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^http:\/\/127\.0\.0\.1:9: unhealthy/);
    expect(down.stdout).toMatch(/FAILED\s+gateway\s+gateway\s+\/ready unreachable/);
  });
});
