// The chart rendered with several values files (defaults, everything on, managed stores behind
// Sentinel, a Redis Cluster) gives objects the Kubernetes API accepts — each validated against its
// kind's schema (kubernetes-models, @kubernetes-models/prometheus-operator), not only parsed — and
// what a production install needs: autoscaling, TLS ingress, monitoring with alert rules, a
// dashboard, restricted pod security, pods rolled on config changes, spread and fenced in.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { parseRedisTarget } from '../../src/redis/connect.js';
import { promqlMetricNames } from '../ops/promql.js';
import { renderChart } from './render.js';

const chartDir = fileURLToPath(new URL('../../helm/tollgate', import.meta.url));
const valuesDir = new URL('./values/', import.meta.url);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

const render = (values: Record<string, unknown> = {}): K8sObject[] => [...renderChart(chartDir, 'tg', values).files.values()].flat() as K8sObject[];
const valuesFile = (name: string) => parseYaml(readFileSync(new URL(name, valuesDir), 'utf8')) as Record<string, unknown>;
const valueSets: Array<[string, Record<string, unknown>]> = [['default', {}], ...readdirSync(valuesDir).sort().map((file): [string, Record<string, unknown>] => [file, valuesFile(file)])];
const one = (all: K8sObject[], kind: string) => {
  const found = all.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};

// The model class of an object's apiVersion and kind: the core group's are under v1/.
async function modelOf(o: K8sObject): Promise<new (data: object) => { validate(): void }> {
  const module = o.apiVersion.startsWith('monitoring.coreos.com/')
    ? await import(/* @vite-ignore */ `@kubernetes-models/prometheus-operator/${o.apiVersion}/${o.kind}`)
    : await import(/* @vite-ignore */ `kubernetes-models/${o.apiVersion}/${o.kind}`);
  return module[o.kind];
}

const podSpecs = (all: K8sObject[]) => all.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind)).map((o) => [o, o.spec.template.spec] as const);

describe.each(valueSets)('the chart with %s values', (_name, values) => {
  const all = render(values);

  it('renders only objects valid against their Kubernetes API schema', async () => {
    expect(all.length).toBeGreaterThan(3);
    const problems: string[] = [];
    for (const o of all) {
      const Model = await modelOf(o);
      try {
        new Model(o).validate();
      } catch (err) {
        problems.push(`${o.kind} ${o.metadata.name}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('runs every container non-root, read-only, without privilege escalation or capabilities', () => {
    for (const [owner, pod] of podSpecs(all)) {
      expect(pod.securityContext, owner.kind).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.securityContext.runAsUser, owner.kind).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken, owner.kind).toBe(false);
      for (const container of pod.containers) {
        expect(container.securityContext, `${owner.kind}/${container.name}`).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      }
    }
  });

  it('names each environment variable once per container, and renders a config the gateway accepts', () => {
    for (const [owner, pod] of podSpecs(all)) {
      for (const container of pod.containers) {
        const names = (container.env ?? []).map((e: { name: string }) => e.name);
        expect(names, `${owner.kind}/${container.name}`).toEqual([...new Set(names)]);
      }
    }
    const configMap = all.find((o) => o.kind === 'ConfigMap' && o.data?.['tollgate.yaml'])!;
    expect(() => configSchema.parse(parseYaml(configMap.data!['tollgate.yaml']!))).not.toThrow();
  });

  it('gives the read-only gateway a writable /tmp and data directory', () => {
    for (const [owner, pod] of podSpecs(all).filter(([o]) => o.kind !== 'StatefulSet')) {
      const [container] = pod.containers;
      const mounts = Object.fromEntries(container.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]));
      expect(pod.volumes.find((v: { name: string }) => v.name === mounts['/tmp']), owner.kind).toMatchObject({ emptyDir: {} });
      expect(pod.volumes.find((v: { name: string }) => v.name === mounts['/data']), owner.kind).toMatchObject({ emptyDir: {} });
      expect(container.env, owner.kind).toContainEqual({ name: 'TOLLGATE_DATA_DIR', value: '/data' });
    }
  });
});

describe('the chart with production values', () => {
  const all = render(valuesFile('production.yaml'));
  const deployment = one(all, 'Deployment');
  const service = all.find((o) => o.kind === 'Service' && o.metadata.name === deployment.metadata.name)!;
  const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;

  it('scales the Deployment on CPU and on requests per second per pod, and leaves its replica count to the autoscaler', () => {
    const hpa = one(all, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 20 });
    expect(hpa.spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      { type: 'Pods', pods: { metric: { name: 'tollgate_requests_per_second' }, target: { type: 'AverageValue', averageValue: '150' } } },
    ]);
    expect(deployment.spec.replicas).toBeUndefined();
  });

  it('serves the host over TLS through the Service\'s http port, unbuffered for streams', () => {
    const ingress = one(all, 'Ingress');
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.tls).toEqual([{ secretName: 'llm-example-com-tls', hosts: ['llm.example.com'] }]);
    expect(ingress.spec.rules).toEqual([
      { host: 'llm.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service.metadata.name, port: { name: 'http' } } } }] } },
    ]);
    expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain('http');
    expect(ingress.metadata.annotations).toMatchObject({ 'nginx.ingress.kubernetes.io/proxy-buffering': 'off' });
  });

  it('scrapes /metrics from the Service\'s pods', () => {
    const monitor = one(all, 'ServiceMonitor');
    expect(monitor.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
  });

  it('ships the alert rules, each a PromQL expression that parses and names Tollgate\'s metrics', () => {
    const rule = one(all, 'PrometheusRule');
    const rules = rule.spec.groups.flatMap((g: { rules: unknown[] }) => g.rules) as Array<{ alert: string; expr: string; labels: { severity: string } }>;
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'TollgateBudgetStoreUnavailable',
      'TollgateDenialSpike',
      'TollgateHighErrorRate',
      'TollgateOverheadHigh',
      'TollgateSpendSpike',
      'TollgateUpstreamSlow',
      'TollgateUsageFlushLag',
    ]);
    for (const r of rules) {
      expect(['critical', 'warning']).toContain(r.labels.severity);
      expect(promqlMetricNames(r.expr).every((name) => name.startsWith('tollgate_')), r.alert).toBe(true);
    }
    // Thresholds come from values, printed as Prometheus reads them (no 1e+07).
    expect(rules.find((r) => r.alert === 'TollgateSpendSpike')!.expr).toContain('> 10000000');
  });

  it('ships the Grafana dashboard as a ConfigMap the Grafana sidecar picks up', () => {
    const configMap = all.find((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1')!;
    expect(JSON.parse(configMap.data!['tollgate.json']!)).toEqual(JSON.parse(readFileSync(`${chartDir}/dashboards/tollgate.json`, 'utf8')));
  });

  it('admits clients only on the http port from the named namespaces, and lets out DNS, HTTPS, Redis and Postgres', () => {
    const policy = one(all, 'NetworkPolicy');
    expect(podLabels).toMatchObject(policy.spec.podSelector.matchLabels);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }], from: (valuesFile('production.yaml').networkPolicy as { ingressFrom: unknown }).ingressFrom }]);
    const egressPorts = policy.spec.egress.flatMap((rule: { ports: Array<{ port: number }> }) => rule.ports.map((p) => p.port));
    expect(egressPorts).toEqual(expect.arrayContaining([53, 443, 6379, 26379, 5432]));
  });

  it('spreads the replicas over nodes and zones', () => {
    const constraints = deployment.spec.template.spec.topologySpreadConstraints as Array<{ topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }>;
    expect(constraints.map((c) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of constraints) expect(podLabels).toMatchObject(c.labelSelector.matchLabels);
  });

  it('runs one gateway process per CPU of the limit', () => {
    expect(deployment.spec.template.spec.containers[0].env).toContainEqual({
      name: 'TOLLGATE_SERVER__WORKERS',
      valueFrom: { resourceFieldRef: { containerName: 'tollgate', resource: 'limits.cpu', divisor: '1' } },
    });
  });
});

describe('a config change', () => {
  const annotations = (values: Record<string, unknown>) => one(render(values), 'Deployment').spec.template.metadata.annotations as Record<string, string>;

  it('changes the pod template (so the pods roll), and a change elsewhere does not', () => {
    const base = annotations({});
    expect(base['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    expect(annotations({ config: { log: { level: 'debug' } } })['checksum/config']).not.toBe(base['checksum/config']);
    expect(annotations({ secrets: { OPENAI_API_KEY: 'sk-new' } })['checksum/secret']).not.toBe(base['checksum/secret']);
    expect(annotations({ replicaCount: 7 })).toEqual(base);
  });
});

describe('external stores', () => {
  const env = (all: K8sObject[], kind: string) => all.find((o) => o.kind === kind)!.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;

  it('reads Sentinel Redis and Postgres URLs from existing Secrets, in the gateway and the migration', () => {
    const all = render(valuesFile('external-sentinel.yaml'));
    expect(all.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Secret')).toEqual([]);
    for (const kind of ['Deployment', 'Job']) {
      expect(env(all, kind)).toEqual(
        expect.arrayContaining([
          { name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: 'tollgate-redis', key: 'url' } } },
          { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'tollgate-pg-app', key: 'uri' } } },
        ]),
      );
      expect(all.find((o) => o.kind === kind)!.spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: 'tollgate-provider-keys' } }]);
    }
    expect(parseRedisTarget('redis+sentinel://:pw@sentinel-0:26379,sentinel-1:26379/tollgate')).toMatchObject({ kind: 'sentinel', masterName: 'tollgate' });
  });

  it('passes a Redis Cluster URL the gateway parses as a cluster', () => {
    const all = render(valuesFile('external-cluster.yaml'));
    const redisUrl = env(all, 'Deployment').find((e) => e.name === 'REDIS_URL')!.value!;
    expect(parseRedisTarget(redisUrl)).toMatchObject({ kind: 'cluster', tls: true, nodes: [{ host: 'redis-0.redis', port: 6379 }, { host: 'redis-1.redis', port: 6379 }, { host: 'redis-2.redis', port: 6379 }] });
    expect(env(all, 'Deployment')).toContainEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'pg-cluster-app', key: 'DATABASE_URL' } } });
    expect(one(all, 'Deployment').spec.template.spec.topologySpreadConstraints).toBeUndefined();
  });
});
