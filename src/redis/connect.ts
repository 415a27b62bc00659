// Opens the one Redis client a process shares, from REDIS_URL: a standalone server (redis://,
// rediss://, the default), a Redis Cluster (redis+cluster://h1:p1,h2:p2, or REDIS_CLUSTER_NODES)
// or a Sentinel-managed master (redis+sentinel://h1:p1,h2:p2/masterName). Every key of an org
// carries its {org} hash tag, so each budget script and usage stream lives on one Cluster slot.
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

// Few retries and a command timeout: a budget check must fail fast (503) rather than hang.
const common = { maxRetriesPerRequest: 2, connectTimeout: 2_000, commandTimeout: 1_000 } satisfies RedisOptions;

export interface RedisTarget {
  readonly kind: 'standalone' | 'cluster' | 'sentinel';
  readonly url: string;
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  readonly masterName: string | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
  // Sentinel: the logical database on the master.
  readonly db: number;
}

export class RedisUrlError extends Error {
  override name = 'RedisUrlError';
}

// scheme://[user[:password]@]host:port[,host:port...][/masterName-or-db]
const multiHost = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(?:\/([^/?#]*))?$/;

function hostPort(text: string, url: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(text.trim());
  const port = Number(match?.[2] ?? 6379);
  if (!match || port < 1 || port > 65_535) throw new RedisUrlError(`redisUrl: "${text}" in ${redact(url)} is not host:port`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

const redact = (url: string): string => url.replace(/\/\/[^@/]*@/, '//***@');

// Parses REDIS_URL (and REDIS_CLUSTER_NODES, a comma-separated host:port list that makes the
// target a cluster); throws RedisUrlError naming what is wrong, so startup fails with a clear line.
export function parseRedisTarget(url: string, clusterNodes?: string): RedisTarget {
  if (clusterNodes) {
    const nodes = clusterNodes.split(',').filter((n) => n.trim() !== '').map((n) => hostPort(n, clusterNodes));
    if (nodes.length === 0) throw new RedisUrlError('redisClusterNodes: no host:port given');
    // REDIS_URL may still carry the credentials and the scheme (rediss: for TLS).
    const base = url ? new URL(url) : undefined;
    return {
      kind: 'cluster', url, nodes, masterName: undefined,
      username: base?.username ? decodeURIComponent(base.username) : undefined,
      password: base?.password ? decodeURIComponent(base.password) : undefined,
      tls: base?.protocol === 'rediss:', db: 0,
    };
  }
  const match = multiHost.exec(url);
  if (!match) {
    if (!/^rediss?:\/\//.test(url)) throw new RedisUrlError(`redisUrl: ${redact(url)} must start with redis://, rediss://, redis+cluster:// or redis+sentinel://`);
    return { kind: 'standalone', url, nodes: [], masterName: undefined, username: undefined, password: undefined, tls: url.startsWith('rediss:'), db: 0 };
  }
  const [, scheme, kind, user, password, hosts, path] = match;
  const nodes = hosts!.split(',').map((n) => hostPort(n, url));
  const decoded = (s: string | undefined) => (s ? decodeURIComponent(s) : undefined);
  if (kind === 'sentinel') {
    if (!path) throw new RedisUrlError(`redisUrl: ${redact(url)} must name the master: redis+sentinel://host:port,host:port/masterName`);
    return { kind: 'sentinel', url, nodes, masterName: decodeURIComponent(path), username: decoded(user), password: decoded(password), tls: scheme === 'rediss', db: 0 };
  }
  // Redis Cluster has only database 0.
  if (path) throw new RedisUrlError(`redisUrl: ${redact(url)}: a cluster URL takes no path (Redis Cluster has only database 0)`);
  return { kind: 'cluster', url, nodes, masterName: undefined, username: decoded(user), password: decoded(password), tls: scheme === 'rediss', db: 0 };
}

// The client the configuration names, or undefined when it names none (embedded stores).
export function connectRedis(config: { readonly redisUrl?: string | undefined; readonly redisClusterNodes?: string | undefined }): RedisClient | undefined {
  if (!config.redisUrl && !config.redisClusterNodes) return undefined;
  const target = parseRedisTarget(config.redisUrl ?? '', config.redisClusterNodes);
  const auth = { username: target.username, password: target.password, ...(target.tls ? { tls: {} } : {}) };
  switch (target.kind) {
    case 'standalone':
      return new Redis(target.url, { ...common, enableAutoPipelining: true });
    case 'sentinel':
      // ioredis asks the sentinels for the master, and again after a failover (on reconnect).
      return new Redis({
        ...common,
        ...auth,
        sentinels: target.nodes.map((n) => ({ ...n })),
        name: target.masterName!,
        enableAutoPipelining: true,
        // A failover closes connections to the old master; look the new one up at once.
        failoverDetector: true,
      });
    case 'cluster':
      return new Cluster(target.nodes.map((n): ClusterNode => ({ ...n })), {
        // No auto-pipelining: ioredis groups a tick's commands by the slot of their first argument,
        // which for a script with a variable key count is the count, so reserves of orgs on
        // different masters were sent as one pipeline and refused ("same slots allocation group").
        // Replicas may lag: budgets read and write the masters only.
        scaleReads: 'master',
        // A node that is down fails its own slots' commands (503, or served when fail-open) within
        // the command timeout; the other nodes keep serving. Its slots still name it, so each
        // command for them (redirected there by MOVED) tries it again and reaches it once it is
        // back. This strategy is for reconnecting after every node was lost.
        clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
        slotsRefreshTimeout: 2_000,
        // A command for a node that is down bounces between MOVED (from a live node) and a refused
        // connection; a few short rounds answer it 503 in ~0.3-0.8 s where the defaults (16
        // rounds of 100 ms) ran into the 1 s command timeout every time. Slot migrations need one
        // or two redirections.
        maxRedirections: 4,
        retryDelayOnFailover: 50,
        redisOptions: { ...common, ...auth },
      });
  }
}
