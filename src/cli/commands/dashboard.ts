// `tollgate dashboard`: the full-screen live view of a gateway (TOLLGATE_URL, else the local one)
// refreshed every 2 s, or with --json one snapshot for scripts. Admin figures come through the
// admin API like every other command (HTTP with --token or TOLLGATE_ADMIN_KEY, else in process).
import { setTimeout as sleep } from 'node:timers/promises';
import { apiCommand } from '../api-command.js';
import { createCollector } from '../../dashboard-tui/collect.js';
import { gatewayEndpoints, scrapeMetrics } from '../../dashboard-tui/endpoints.js';
import { type Panel, panels } from '../../dashboard-tui/panels.js';
import { runDashboard } from '../../dashboard-tui/run.js';
import { openScreen } from '../../dashboard-tui/terminal.js';
import { UsageError } from './keys.js';

// --json measures its rates over this long: one snapshot still needs two scrapes.
const jsonRateSpanMs = 1_000;

export const dashboard = apiCommand({
  name: 'dashboard',
  summary: 'Live full-screen view: request and error rates, p99, spend rate, fullest budgets, top users, firing alerts [--org O] [--panel overview|budgets|users|alerts] [--refresh-ms N] [--ops-url U] [--json: one snapshot].',
  options: { panel: { type: 'string' }, 'refresh-ms': { type: 'string' }, 'ops-url': { type: 'string' } },
  async run(ctx) {
    const panel = ctx.str('panel') ?? 'overview';
    if (!(panels as readonly string[]).includes(panel)) throw new UsageError(`--panel must be one of ${panels.join(', ')}`);
    const refreshMs = Number(ctx.str('refresh-ms') ?? 2_000);
    if (!Number.isInteger(refreshMs) || refreshMs < 250) throw new UsageError('--refresh-ms must be a whole number of milliseconds from 250');
    const endpoints = gatewayEndpoints(ctx.str('ops-url'));
    const orgName = ctx.str('org');
    const org = orgName ? { id: await ctx.org(), name: orgName } : null;
    const collector = createCollector({ gateway: endpoints.url, scrapeMetrics: () => scrapeMetrics(endpoints.opsUrl), admin: ctx.client, org });
    if (ctx.values.json) {
      await collector.snapshot(Date.now());
      await sleep(jsonRateSpanMs);
      ctx.out(JSON.stringify(await collector.snapshot(Date.now())));
      return;
    }
    if (!process.stdin.isTTY || !process.stdout.isTTY) throw new UsageError('dashboard needs a terminal (use --json for a snapshot)');
    await runDashboard(collector, openScreen(), { refreshMs, panel: panel as Panel });
  },
});
