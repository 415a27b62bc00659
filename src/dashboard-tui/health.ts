// Every dependency's health as `tollgate system --health` prints it, judged from what the gateway
// already publishes: /ready's checks (the stores and the usage ledger), /metrics (usage lag,
// tokenizer queue, which upstream providers answer and how fast) and the health alerts firing for
// a provider (its 5xx rate or p99 time to first byte over the alert rules' window).
import type { Sample } from './prometheus-text.js';
import { quantileBoundMs } from './traffic.js';

export type HealthState = 'ok' | 'degraded' | 'failed' | 'unknown';

export interface DependencyHealth {
  readonly name: string;
  readonly kind: 'gateway' | 'store' | 'usage' | 'tokenizer' | 'upstream';
  readonly state: HealthState;
  readonly detail: string;
}

export interface HealthReport {
  readonly gateway: string;
  readonly checkedAt: string;
  // healthy: every dependency ok (or not measured); unhealthy: any failed; degraded otherwise.
  readonly status: 'healthy' | 'degraded' | 'unhealthy';
  readonly dependencies: readonly DependencyHealth[];
}

export type Ready = { readonly httpStatus: number; readonly body: { status?: string; checks?: Record<string, string> } } | { readonly error: string };

export interface HealthInputs {
  readonly gateway: string;
  readonly atMs: number;
  readonly ready: Ready;
  // null: /metrics could not be read (the reason).
  readonly metrics: readonly Sample[] | { readonly error: string };
  // Firing alerts of source 'health'; an error when the admin API could not be read.
  readonly healthAlerts: ReadonlyArray<{ readonly name: string; readonly summary: string; readonly figures: Record<string, unknown> }> | { readonly error: string };
}

const checkState = (value: string | undefined): HealthState => (value === 'ok' ? 'ok' : value === 'degraded' ? 'degraded' : value === 'failed' ? 'failed' : 'unknown');
const one = (samples: readonly Sample[], name: string) => samples.find((s) => s.name === name)?.value;
const storeChecks = new Set(['postgres', 'pglite', 'redis', 'redis-cluster']);

function readyDependencies(ready: Ready): DependencyHealth[] {
  if ('error' in ready) return [{ name: 'gateway', kind: 'gateway', state: 'failed', detail: `/ready unreachable: ${ready.error}` }];
  const status = ready.body.status ?? `HTTP ${ready.httpStatus}`;
  const gateway: DependencyHealth = { name: 'gateway', kind: 'gateway', state: status === 'ready' ? 'ok' : status === 'degraded' ? 'degraded' : 'failed', detail: `/ready: ${status}` };
  const stores = Object.entries(ready.body.checks ?? {})
    .filter(([name]) => storeChecks.has(name))
    .map(([name, value]): DependencyHealth => ({ name, kind: 'store', state: checkState(value), detail: `/ready check: ${value}` }));
  return [gateway, ...stores];
}

function usageDependency(ready: Ready, samples: readonly Sample[] | undefined): DependencyHealth {
  const check = 'error' in ready ? undefined : ready.body.checks?.usage;
  const lagSeconds = samples && one(samples, 'tollgate_usage_oldest_pending_age_seconds');
  const queued = samples && (one(samples, 'tollgate_usage_queue_length') ?? one(samples, 'tollgate_usage_stream_length'));
  const figures = [lagSeconds === undefined ? 'lag not measured' : `oldest unwritten event ${lagSeconds.toFixed(1)} s old`, ...(queued === undefined ? [] : [`${queued} waiting or held`])];
  return { name: 'usage ledger', kind: 'usage', state: checkState(check), detail: `${check ? `/ready check: ${check}; ` : ''}${figures.join(', ')}` };
}

function tokenizerDependency(samples: readonly Sample[] | undefined): DependencyHealth {
  const queued = samples && one(samples, 'tollgate_tokenizer_queue_length');
  const max = samples && one(samples, 'tollgate_tokenizer_queue_max');
  if (queued === undefined || max === undefined) return { name: 'tokenizer pool', kind: 'tokenizer', state: 'unknown', detail: 'queue not on /metrics' };
  const state: HealthState = max > 0 && queued >= max ? 'failed' : max > 0 && queued >= max * 0.8 ? 'degraded' : 'ok';
  return { name: 'tokenizer pool', kind: 'tokenizer', state, detail: `${queued} of ${max} queued${state === 'failed' ? ' (full: token counts are refused)' : ''}` };
}

function upstreamDependencies(samples: readonly Sample[] | undefined, alerts: HealthInputs['healthAlerts']): DependencyHealth[] {
  if (!samples) return [];
  const providers = new Map<string, Array<[number, number]>>();
  for (const s of samples) {
    if (s.name !== 'tollgate_upstream_duration_seconds_bucket' || !s.labels.provider) continue;
    const bound = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Math.round(Number(s.labels.le) * 1000);
    providers.set(s.labels.provider, [...(providers.get(s.labels.provider) ?? []), [bound, s.value]]);
  }
  return [...providers].map(([provider, buckets]) => {
    const sorted = buckets.sort((a, b) => a[0] - b[0]);
    const p99 = quantileBoundMs(sorted, 0.99);
    const figures = `${sorted.at(-1)?.[1] ?? 0} answers since start, p99 ${p99 === null ? '-' : Number.isFinite(p99) ? `≤${p99} ms` : '>60 s'}`;
    if ('error' in alerts) return { name: provider, kind: 'upstream', state: 'unknown', detail: `${figures}; health alerts not readable (${alerts.error})` };
    const firing = alerts.filter((a) => a.figures.provider === provider);
    const state: HealthState = firing.some((a) => a.name === 'health.upstream_error_rate') ? 'failed' : firing.length > 0 ? 'degraded' : 'ok';
    return { name: provider, kind: 'upstream', state, detail: [figures, ...firing.map((a) => a.summary)].join('; ') };
  });
}

export function assessHealth(inputs: HealthInputs): HealthReport {
  const samples = Array.isArray(inputs.metrics) ? (inputs.metrics as readonly Sample[]) : undefined;
  const dependencies = [
    ...readyDependencies(inputs.ready),
    usageDependency(inputs.ready, samples),
    tokenizerDependency(samples),
    ...upstreamDependencies(samples, inputs.healthAlerts),
  ];
  if (!samples) dependencies.push({ name: 'metrics', kind: 'gateway', state: 'failed', detail: `/metrics unreadable: ${(inputs.metrics as { error: string }).error}` });
  const states = dependencies.map((d) => d.state);
  const status = states.includes('failed') ? 'unhealthy' : states.includes('degraded') ? 'degraded' : 'healthy';
  return { gateway: inputs.gateway, checkedAt: new Date(inputs.atMs).toISOString(), status, dependencies };
}

export function renderHealth(report: HealthReport): string[] {
  const nameWidth = Math.max(...report.dependencies.map((d) => d.name.length), 4);
  return [
    `${report.gateway}: ${report.status} (${report.checkedAt})`,
    ...report.dependencies.map((d) => `  ${d.state.toUpperCase().padEnd(8)} ${d.kind.padEnd(9)} ${d.name.padEnd(nameWidth)}  ${d.detail}`),
  ];
}
