// The Helm chart renders to valid Kubernetes YAML, and what it deploys matches how Tollgate must
// run: probes on /health and /ready, a drain window longer than the gateway's, migrations before
// replicas start, Redis with AOF, and a config file the gateway itself accepts.
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { renderChart } from './render.js';

const chartDir = fileURLToPath(new URL('../../helm/tollgate', import.meta.url));

type Doc = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string> };

const docs = (overrides?: Record<string, unknown>): Doc[] => [...renderChart(chartDir, 'tg', overrides).files.values()].flat() as Doc[];
const find = (all: Doc[], kind: string) => all.filter((d) => d.kind === kind);

describe('the Helm chart with default values', () => {
  const all = docs();

  it('renders every template to Kubernetes objects', () => {
    expect(all.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Job', 'PodDisruptionBudget', 'Secret', 'Service', 'Service', 'StatefulSet']);
    // Optional objects (HPA, Ingress, ServiceMonitor, PrometheusRule, dashboard, NetworkPolicy) are off.
    for (const d of all) expect(d.metadata.name).toMatch(/^tg-/);
  });

  it('probes liveness on /health and readiness on /ready, and drains longer than the gateway does', () => {
    const [deployment] = find(all, 'Deployment');
    const pod = deployment!.spec.template.spec;
    const container = pod.containers[0];
    expect(container.livenessProbe.httpGet.path).toBe('/health');
    expect(container.readinessProbe.httpGet.path).toBe('/ready');
    const [configMap] = find(all, 'ConfigMap');
    const config = configSchema.parse(parseYaml(configMap!.data!['tollgate.yaml']!));
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.server.drainTimeoutMs);
    expect(container.env).toEqual(expect.arrayContaining([{ name: 'REDIS_URL', value: 'redis://tg-redis:6379' }, { name: 'TOLLGATE_CONFIG', value: '/etc/tollgate/tollgate.yaml' }]));
  });

  it('runs migrations as a pre-install and pre-upgrade hook', () => {
    const [job] = find(all, 'Job');
    expect(job!.metadata.annotations!['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(job!.spec.template.spec.containers[0].args).toEqual(['migrate']);
  });

  it('runs Redis with an append-only file synced every second', () => {
    const [redis] = find(all, 'StatefulSet');
    expect(redis!.spec.template.spec.containers[0].args).toEqual(['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', '/data']);
  });
});

describe('the number of gateway processes per pod', () => {
  const workersEnv = (overrides: Record<string, unknown>) =>
    (find(docs(overrides), 'Deployment')[0]!.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>).find((e) => e.name === 'TOLLGATE_SERVER__WORKERS');

  it('runs one process without a CPU limit, since the gateway would otherwise count the node\'s cores', () => {
    expect(workersEnv({})).toEqual({ name: 'TOLLGATE_SERVER__WORKERS', value: '1' });
  });

  it('runs one process per CPU of the container\'s limit, read through the downward API', () => {
    expect(workersEnv({ resources: { limits: { cpu: '1500m' } } })).toEqual({
      name: 'TOLLGATE_SERVER__WORKERS',
      valueFrom: { resourceFieldRef: { containerName: 'tollgate', resource: 'limits.cpu', divisor: '1' } },
    });
  });

  it('runs the count it is given, whatever the limit, and the gateway accepts it', () => {
    const env = workersEnv({ workers: 3, resources: { limits: { cpu: '8' } } });
    expect(env).toEqual({ name: 'TOLLGATE_SERVER__WORKERS', value: '3' });
    expect(configSchema.parse({ server: { workers: Number(env?.value) } }).server.workers).toBe(3);
  });
});

describe('the Helm chart with an external Redis and an existing secret', () => {
  it('deploys neither Redis nor a Secret and points the gateway at what it was given', () => {
    const all = docs({ redis: { enabled: false, external: { url: 'rediss://cache:6380' } }, existingSecret: 'prod-tollgate', extraEnv: [{ name: 'TOLLGATE_UPSTREAM__IDLE_TIMEOUT_MS', value: '5000' }] });
    expect(find(all, 'StatefulSet')).toHaveLength(0);
    expect(find(all, 'Secret')).toHaveLength(0);
    const container = find(all, 'Deployment')[0]!.spec.template.spec.containers[0];
    expect(container.env).toEqual(expect.arrayContaining([{ name: 'REDIS_URL', value: 'rediss://cache:6380' }, { name: 'TOLLGATE_UPSTREAM__IDLE_TIMEOUT_MS', value: '5000' }]));
    expect(container.envFrom).toEqual([{ secretRef: { name: 'prod-tollgate' } }]);
  });
});
