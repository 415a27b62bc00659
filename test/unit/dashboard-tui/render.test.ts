import { describe, expect, it } from 'vitest';
import { keyAction } from '../../../src/dashboard-tui/panels.js';
import { type DashboardView, renderDashboard } from '../../../src/dashboard-tui/render.js';
import type { Snapshot } from '../../../src/dashboard-tui/snapshot.js';

const atMs = Date.parse('2026-12-02T04:40:12Z');

const snapshot: Snapshot = {
  gateway: 'http://127.0.0.1:8080',
  org: 'acme',
  atMs,
  traffic: { ok: true, value: { spanMs: 10_000, requestsTotal: 1234, requestsPerSecond: 12.5, errorShare: 0.004, refusedShare: 0.012, p99LatencyMs: 250, spendMicrosPerMinute: 120_000, costMicrosTotal: 9_000_000 } },
  spend: {
    ok: true,
    value: {
      day: '2026-12-02', requests: 300, costMicros: 3_400_000,
      users: [
        { user: 'alice', requests: 200, tokens: 52_000, costMicros: 2_500_000 },
        { user: 'bob', requests: 100, tokens: 9_000, costMicros: 900_000 },
      ],
    },
  },
  budgets: {
    ok: true,
    value: [
      { orgName: '', scope: 'user', subject: 'alice', metric: 'costMicros', window: 'month', usedAmount: 8_200_000, limitAmount: 10_000_000 },
      { orgName: '', scope: 'team', subject: 'team_research', metric: 'tokens', window: 'day', usedAmount: 5_000, limitAmount: 20_000 },
    ],
  },
  alerts: { ok: true, value: [{ severity: 'high', name: 'health.upstream_error_rate', summary: '30% of openai requests failed with a 5xx', firstSeenAt: '2026-12-02T04:31:09.000Z' }] },
};

const view = (over: Partial<DashboardView> = {}): DashboardView => ({ snapshot, panel: 'overview', error: null, ...over });

describe('terminal dashboard rendering', () => {
  it('shows traffic, spend rate, fullest budgets, top users and firing alerts on the overview', () => {
    const text = renderDashboard(view(), { width: 120, height: 40 }).join('\n');
    expect(text).toContain('Requests 12.5/s (1,234 total)');
    expect(text).toContain('Errors 0.4% 5xx');
    expect(text).toContain('Refused 1.2% 4xx');
    expect(text).toContain('p99 upstream ≤250 ms');
    expect(text).toContain('Spend $0.12/min ($3.40 today)');
    expect(text).toMatch(/82%\s+█+░+\s+\$8\.20 of \$10\.00\s+month\s+user alice/);
    expect(text).toMatch(/\$2\.50\s+200\s+52,000\s+alice/);
    expect(text).toMatch(/HIGH\s+04:31:09\s+health\.upstream_error_rate\s+30% of openai/);
    expect(text).toContain('updated 04:40:12 UTC');
    expect(text).toContain('[1 Overview]');
  });

  it('never draws a line wider than the terminal nor more lines than it has', () => {
    for (const [width, height] of [[120, 40], [80, 24], [40, 12], [20, 5]] as const) {
      for (const panel of ['overview', 'budgets', 'users', 'alerts'] as const) {
        const lines = renderDashboard(view({ panel }), { width, height });
        expect(lines.length).toBeLessThanOrEqual(height);
        for (const line of lines) expect(line.length).toBeLessThanOrEqual(width);
      }
    }
  });

  it('drops the budget bars on a narrow terminal but keeps the figures', () => {
    const text = renderDashboard(view({ panel: 'budgets' }), { width: 70, height: 20 }).join('\n');
    expect(text).not.toContain('█');
    expect(text).toMatch(/82%\s+\$8\.20 of \$10\.00/);
    expect(text).toMatch(/25%\s+5,000 tok of 20,000 tok\s+day\s+team team_research/);
  });

  it('shows one panel at a time when a panel is chosen', () => {
    const alerts = renderDashboard(view({ panel: 'alerts' }), { width: 120, height: 40 }).join('\n');
    expect(alerts).toContain('[4 Alerts]');
    expect(alerts).toContain('Alerts firing (1)');
    expect(alerts).not.toContain('Budgets nearest their limits');
    const users = renderDashboard(view({ panel: 'users' }), { width: 120, height: 40 }).join('\n');
    expect(users).toContain('Top users by spend today (2026-12-02 UTC)');
    expect(users).not.toContain('health.upstream_error_rate');
  });

  it('says which section a gateway cannot give instead of failing the whole view', () => {
    const missing: Snapshot = { ...snapshot, alerts: { ok: false, reason: 'Not available on this gateway.' }, budgets: { ok: false, reason: 'Not permitted for this credential (forbidden).' } };
    const text = renderDashboard(view({ snapshot: missing }), { width: 120, height: 40 }).join('\n');
    expect(text).toContain('Not available on this gateway.');
    expect(text).toContain('Not permitted for this credential (forbidden).');
    expect(text).toContain('Top users');
  });

  it('says the rates are being measured until a second scrape exists, and shows the last refresh error', () => {
    const first: Snapshot = { ...snapshot, traffic: { ok: true, value: { ...(snapshot.traffic as { value: any }).value, spanMs: 0, requestsPerSecond: null, errorShare: null, refusedShare: null, p99LatencyMs: null, spendMicrosPerMinute: null } } };
    const text = renderDashboard(view({ snapshot: first, error: 'refresh failed: connect ECONNREFUSED' }), { width: 120, height: 40 }).join('\n');
    expect(text).toContain('Requests measuring… (1,234 total)');
    expect(text).toContain('Errors - 5xx');
    expect(text).toContain('! refresh failed: connect ECONNREFUSED');
  });

  it('draws a waiting screen before the first snapshot', () => {
    expect(renderDashboard(view({ snapshot: null }), { width: 80, height: 24 }).join('\n')).toContain('Waiting for the first answer from the gateway…');
  });
});

describe('dashboard keys', () => {
  it('picks panels with 1-4, cycles with tab and shift-tab, and quits on q or ctrl-c', () => {
    expect(keyAction('3', 'overview')).toEqual({ panel: 'users' });
    expect(keyAction('5', 'overview')).toBeUndefined();
    expect(keyAction('\t', 'alerts')).toEqual({ panel: 'overview' });
    expect(keyAction('\u001b[Z', 'overview')).toEqual({ panel: 'alerts' });
    expect(keyAction('q', 'budgets')).toBe('quit');
    expect(keyAction('\u0003', 'budgets')).toBe('quit');
    expect(keyAction('x', 'budgets')).toBeUndefined();
  });
});
