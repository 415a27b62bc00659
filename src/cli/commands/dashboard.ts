// `tollgate dashboard`: the full-screen live view of a gateway (TOLLGATE_URL, else the local one)
// refreshed every 2 s, or with --json one snapshot for scripts. Admin figures come through the
// admin API (HTTP with --token or TOLLGATE_ADMIN_KEY; in process only on a shared Postgres).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from '../command.js';
import { openAdminClient } from '../admin-client.js';
import { orgId } from '../resolve.js';
import { createCollector } from '../../dashboard-tui/collect.js';
import { gatewayEndpoints, scrapeMetrics } from '../../dashboard-tui/endpoints.js';
import { type Panel, panels } from '../../dashboard-tui/panels.js';
import { runDashboard } from '../../dashboard-tui/run.js';
import { openScreen } from '../../dashboard-tui/terminal.js';
import { UsageError } from './keys.js';

// --json measures its rates over this long: one snapshot still needs two scrapes.
const jsonRateSpanMs = 1_000;

export const dashboard: Command = {
  name: 'dashboard',
  summary: 'Live full-screen view: request and error rates, p99, spend rate, fullest budgets, top users, firing alerts [--org O] [--panel overview|budgets|users|alerts] [--refresh-ms N] [--ops-url U] [--token T] [--json: one snapshot].',
  options: { org: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean', default: false }, panel: { type: 'string' }, 'refresh-ms': { type: 'string' }, 'ops-url': { type: 'string' } },
  async run({ values, out }) {
    const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
    const panel = str('panel') ?? 'overview';
    if (!(panels as readonly string[]).includes(panel)) throw new UsageError(`--panel must be one of ${panels.join(', ')}`);
    const refreshMs = Number(str('refresh-ms') ?? 2_000);
    if (!Number.isInteger(refreshMs) || refreshMs < 250) throw new UsageError('--refresh-ms must be a whole number of milliseconds from 250');
    if (!values.json && (!process.stdin.isTTY || !process.stdout.isTTY)) throw new UsageError('dashboard needs a terminal (use --json for a snapshot)');
    const endpoints = gatewayEndpoints(str('ops-url'));
    const client = await openAdminClient(str('token'), endpoints.adminUrl);
    try {
      const orgName = str('org');
      const org = orgName ? { id: await orgId(client, orgName), name: orgName } : null;
      const collector = createCollector({ gateway: endpoints.url, scrapeMetrics: () => scrapeMetrics(endpoints.opsUrl), admin: client, org });
      if (!values.json) return await runDashboard(collector, openScreen(), { refreshMs, panel: panel as Panel });
      await collector.snapshot(Date.now());
      await sleep(jsonRateSpanMs);
      out(JSON.stringify(await collector.snapshot(Date.now())));
    } finally {
      await client.close();
    }
  },
};
