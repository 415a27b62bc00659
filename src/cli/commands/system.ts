// `tollgate system --health`: every dependency's health (stores, usage ledger, tokenizer pool,
// upstream providers) as a gateway reports it on /ready and /metrics, plus the health alerts
// firing per provider; exit code 0 only when all are ok. Reading the alerts needs the admin API;
// without it the providers show as unknown rather than failing the check.
import { parsePrometheusText } from '../../dashboard-tui/prometheus-text.js';
import { gatewayEndpoints, getText, scrapeMetrics } from '../../dashboard-tui/endpoints.js';
import { assessHealth, type HealthInputs, renderHealth } from '../../dashboard-tui/health.js';
import type { Command } from '../command.js';
import { openAdminClient } from '../admin-client.js';
import { UsageError } from './keys.js';

const message = (err: unknown) => (err as Error).message;

async function readReady(opsUrl: string): Promise<HealthInputs['ready']> {
  try {
    const { status, text } = await getText(`${opsUrl}/ready`);
    return { httpStatus: status, body: JSON.parse(text) };
  } catch (err) {
    return { error: message(err) };
  }
}

async function readHealthAlerts(token: string | undefined, adminUrl: string | undefined): Promise<HealthInputs['healthAlerts']> {
  try {
    const client = await openAdminClient(token, adminUrl);
    try {
      return (await client.call('GET', '/alerts', { query: { state: 'firing', source: 'health', limit: '1000' } })).data;
    } finally {
      await client.close();
    }
  } catch (err) {
    return { error: message(err) };
  }
}

export const system: Command = {
  name: 'system',
  summary: 'system --health: Redis, Postgres, usage lag, tokenizer pool and upstream providers, from /ready and /metrics [--ops-url U] [--token T] [--json]; exit 1 unless all ok.',
  options: { health: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, token: { type: 'string' }, 'ops-url': { type: 'string' } },
  async run({ values, out }) {
    if (!values.health) throw new UsageError('system needs --health');
    const endpoints = gatewayEndpoints(values['ops-url'] as string | undefined);
    const [ready, metrics, healthAlerts] = await Promise.all([
      readReady(endpoints.opsUrl),
      scrapeMetrics(endpoints.opsUrl).then(parsePrometheusText, (err: unknown) => ({ error: message(err) })),
      readHealthAlerts(values.token as string | undefined, endpoints.adminUrl),
    ]);
    const report = assessHealth({ gateway: endpoints.url, atMs: Date.now(), ready, metrics, healthAlerts });
    if (values.json) out(JSON.stringify(report));
    else for (const line of renderHealth(report)) out(line);
    return report.status === 'healthy' ? 0 : 1;
  },
};
