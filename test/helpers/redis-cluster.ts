// Redis topologies a suite runs itself, on free loopback ports: a 3-master Redis Cluster (nodes
// killed and restarted by PID to test a node going away) and a Sentinel group (one master, one
// replica, one sentinel). No persistence unless asked for. Every server is stopped by its PID.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { freePort } from './own-postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RedisServer {
  readonly port: number;
  start(): Promise<void>;
  // SIGKILL: connections drop mid-command, like a crash.
  kill(): Promise<void>;
  readonly running: boolean;
}

// A redis-server on a fixed port with the given arguments; start() again after kill() restarts it
// with the same arguments (a cluster node keeps its nodes-<port>.conf, so it rejoins). Persistent:
// an append-only file of its own, written before each reply, so a SIGKILL loses nothing acknowledged.
function redisServer(port: number, args: readonly string[], dir: string, options: { sentinel?: boolean; persistent?: boolean } = {}): RedisServer {
  const persistence = options.persistent ? ['--appendonly', 'yes', '--appenddirname', `aof-${port}`] : ['--appendonly', 'no'];
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    port,
    get running() {
      return alive();
    },
    async start() {
      if (alive()) return;
      child = spawn('redis-server', [...args, ...(options.sentinel ? ['--sentinel'] : []), '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, '--daemonize', 'no'], { stdio: 'ignore' });
      exited = new Promise((resolve) => child!.once('exit', resolve));
      const deadline = Date.now() + 5_000;
      for (;;) {
        const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => {});
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start: ${(err as Error).message}`);
          await sleep(50);
        } finally {
          probe.disconnect();
        }
      }
    },
    async kill() {
      if (alive()) child!.kill('SIGKILL');
      await exited;
    },
  };
}

export function redisServerProblem(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error) return `redis-server is not installed (${probe.error.message})`;
  return spawnSync('redis-cli', ['--version']).error ? 'redis-cli is not installed' : undefined;
}

export interface RedisClusterFixture {
  // redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
  readonly url: string;
  readonly nodes: readonly RedisServer[];
  // A client of the test's own (the contract suite, assertions on the data).
  client(): Cluster;
  // The node that serves this key's slot (CLUSTER KEYSLOT, then the slot map).
  nodeOf(key: string): Promise<RedisServer>;
  // Waits until every running node says cluster_state:ok.
  settled(): Promise<void>;
  stop(): Promise<void>;
}

// Stops what started so far when the rest fails, so a broken start leaves no server behind.
async function orStop<T>(servers: readonly RedisServer[], dir: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    await Promise.all(servers.map((s) => s.kill()));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export async function startRedisCluster(masters = 3, options: { persistent?: boolean } = {}): Promise<RedisClusterFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-redis-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < masters; i++) ports.push(await freePort());
  // Without full coverage the other masters keep serving while one is down; node-timeout decides
  // how soon they notice.
  const nodes = ports.map((port) =>
    redisServer(port, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000', '--cluster-require-full-coverage', 'no'], dir, options),
  );
  const clients: Cluster[] = [];

  async function settled(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (const node of nodes.filter((n) => n.running)) {
      const probe = new Redis(node.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
      probe.on('error', () => {});
      try {
        while (!(await probe.cluster('INFO')).includes('cluster_state:ok')) {
          if (Date.now() > deadline) throw new Error(`cluster node ${node.port} did not reach cluster_state:ok`);
          await sleep(100);
        }
      } finally {
        probe.disconnect();
      }
    }
  }
  await orStop(nodes, dir, async () => {
    await Promise.all(nodes.map((n) => n.start()));
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await settled();
  });

  const fixture: RedisClusterFixture = {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    nodes,
    client() {
      // Without auto-pipelining, as the gateway's (see src/redis/connect.ts).
      const client = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { maxRetriesPerRequest: 1 } });
      client.on('error', () => {});
      clients.push(client);
      return client;
    },
    async nodeOf(key) {
      const probe = new Redis(ports[0]!, '127.0.0.1');
      try {
        const slot = Number(await probe.cluster('KEYSLOT', key));
        const owner = (await probe.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to)!;
        return nodes.find((n) => n.port === owner[2]![1])!;
      } finally {
        probe.disconnect();
      }
    },
    settled,
    async stop() {
      for (const c of clients) c.disconnect();
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

export interface RedisSentinelFixture {
  // redis+sentinel://127.0.0.1:<sentinel>/<masterName>
  readonly url: string;
  readonly masterName: string;
  readonly master: RedisServer;
  readonly replica: RedisServer;
  readonly sentinel: RedisServer;
  // The port the sentinel currently names as master.
  currentMasterPort(): Promise<number>;
  stop(): Promise<void>;
}

// One master, one replica and one sentinel (quorum 1) that fails over a second after the master dies.
export async function startRedisSentinel(): Promise<RedisSentinelFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-redis-sentinel-'));
  const [masterPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()];
  const masterName = 'tollgate';
  const master = redisServer(masterPort, [], dir);
  const replica = redisServer(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)], dir);
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, [
    `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`,
    `sentinel down-after-milliseconds ${masterName} 1000`,
    `sentinel failover-timeout ${masterName} 5000`,
    `sentinel parallel-syncs ${masterName} 1`,
    '',
  ].join('\n'));
  const sentinel = redisServer(sentinelPort, [conf], dir, { sentinel: true });
  await orStop([master, replica, sentinel], dir, async () => {
    await master.start();
    await replica.start();
    await sentinel.start();
  });
  return {
    url: `redis+sentinel://127.0.0.1:${sentinelPort}/${masterName}`,
    masterName,
    master,
    replica,
    sentinel,
    async currentMasterPort() {
      const probe = new Redis(sentinelPort, '127.0.0.1', { maxRetriesPerRequest: 0 });
      try {
        const [, port] = (await probe.call('SENTINEL', 'get-master-addr-by-name', masterName)) as [string, string];
        return Number(port);
      } finally {
        probe.disconnect();
      }
    },
    async stop() {
      await Promise.all([sentinel.kill(), replica.kill(), master.kill()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
