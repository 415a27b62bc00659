// What one replica's health rules need from its Prometheus registry, as cumulative counters:
// upstream answers and 5xx per provider, the time-to-first-byte histogram per provider, 429s, cost,
// plus the tokenizer queue and the usage lag at that instant. Every replica publishes its snapshot
// to one Redis hash (field = replica), so the evaluator sees the fleet, not only its own traffic;
// embedded, the process is the fleet.
import type { Registry } from 'prom-client';
import type { RedisClient } from '../redis/connect.js';

export interface ProviderCounts {
  // Requests answered for the provider's models, and those with status >= 500.
  requests: number;
  errors: number;
  // Upstream answers whose first byte was timed.
  answers: number;
  // Cumulative answers by bucket: [upper bound in ms, count], finite bounds only (answers is +Inf).
  ttfb: Array<[number, number]>;
}

export interface HealthSnapshot {
  readonly replica: string;
  readonly atMs: number;
  readonly providers: Record<string, ProviderCounts>;
  readonly requests: number;
  readonly rateLimited: number;
  readonly costMicros: number;
  readonly tokenizerQueued: number;
  readonly tokenizerMaxQueue: number;
  // Undefined where this replica does not measure it (embedded: no stream flusher).
  readonly usageLagMs: number | undefined;
}

interface MetricValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly metricName?: string;
}

async function values(registry: Registry, name: string): Promise<readonly MetricValue[]> {
  const metric = registry.getSingleMetric(name);
  return metric ? ((await metric.get()).values as MetricValue[]) : [];
}

export interface SnapshotSources {
  readonly registry: Registry;
  readonly replica: string;
  // The provider of a model label on tollgate_requests_total.
  providerOf(model: string): string | undefined;
  tokenizer(): { queued: number; maxQueue: number };
}

export async function takeSnapshot(sources: SnapshotSources, nowMs: number): Promise<HealthSnapshot> {
  const { registry } = sources;
  const providers: Record<string, ProviderCounts> = {};
  const of = (provider: string): ProviderCounts => (providers[provider] ??= { requests: 0, errors: 0, answers: 0, ttfb: [] });
  let requests = 0;
  let rateLimited = 0;
  for (const { value, labels } of await values(registry, 'tollgate_requests_total')) {
    const status = Number(labels.status);
    requests += value;
    if (status === 429) rateLimited += value;
    const provider = sources.providerOf(String(labels.model));
    if (!provider) continue;
    of(provider).requests += value;
    if (status >= 500) of(provider).errors += value;
  }
  for (const { value, labels, metricName } of await values(registry, 'tollgate_time_to_first_byte_seconds')) {
    const counts = of(String(labels.provider));
    if (metricName?.endsWith('_bucket') && labels.le !== '+Inf') counts.ttfb.push([Math.round(Number(labels.le) * 1000), value]);
    else if (metricName?.endsWith('_count')) counts.answers = value;
  }
  const costMicros = (await values(registry, 'tollgate_cost_micros_total')).reduce((sum, v) => sum + v.value, 0);
  const lag = (await values(registry, 'tollgate_usage_oldest_pending_age_seconds'))[0];
  const { queued, maxQueue } = sources.tokenizer();
  return {
    replica: sources.replica,
    atMs: nowMs,
    providers,
    requests,
    rateLimited,
    costMicros,
    tokenizerQueued: queued,
    tokenizerMaxQueue: maxQueue,
    usageLagMs: lag ? Math.round(lag.value * 1000) : undefined,
  };
}

export interface FleetSnapshots {
  // This replica's snapshot, sent where the evaluator reads it.
  publish(nowMs: number): Promise<void>;
  // Every replica's latest snapshot that is not older than staleMs.
  read(nowMs: number): Promise<HealthSnapshot[]>;
}

export function localSnapshots(sources: SnapshotSources): FleetSnapshots {
  return {
    publish: async () => {},
    read: async (nowMs) => [await takeSnapshot(sources, nowMs)],
  };
}

export function redisSnapshots(redis: RedisClient, keyPrefix: string, sources: SnapshotSources, staleMs: number): FleetSnapshots {
  const key = `${keyPrefix}{alerts}:health`;
  return {
    async publish(nowMs) {
      await redis.hset(key, sources.replica, JSON.stringify(await takeSnapshot(sources, nowMs)));
      // A fleet that stops publishing leaves nothing behind.
      await redis.pexpire(key, staleMs * 4);
    },
    async read(nowMs) {
      const fields = await redis.hgetall(key);
      const fresh: HealthSnapshot[] = [];
      const gone: string[] = [];
      for (const [replica, text] of Object.entries(fields)) {
        const snapshot = JSON.parse(text) as HealthSnapshot;
        if (nowMs - snapshot.atMs > staleMs) gone.push(replica);
        else fresh.push(snapshot);
      }
      if (gone.length > 0) await redis.hdel(key, ...gone);
      return fresh;
    },
  };
}
