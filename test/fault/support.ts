// Shared pieces of the fault suites: the CI-or-skip decision for servers a suite runs itself, a
// redis-server of the suite's own (to kill and restart), and latency percentiles.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/own-postgres.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Fails the run in CI and skips the suite (printing why) elsewhere, like the shared services.
export function available(what: string, problem: string | undefined): boolean {
  if (!problem) return true;
  if (process.env.CI === 'true') throw new Error(`${what} is required in CI: ${problem}`);
  process.stdout.write(`skipping: ${what} cannot run here (${problem})\n`);
  return false;
}

export function redisServerProblem(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.error ? `redis-server is not installed (${probe.error.message})` : undefined;
}

// Nearest-rank percentile of unsorted samples; q in (0, 1].
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export interface OwnRedis {
  url: string;
  // Starts redis-server on the same port every time, with no persistence: a restart is empty.
  start(): Promise<void>;
  // SIGKILL: connections drop mid-command, like a crash.
  kill(): Promise<void>;
}

export async function createOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  return {
    url,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return;
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
      exited = new Promise((resolve) => child!.once('exit', resolve));
      const deadline = Date.now() + 5_000;
      for (;;) {
        const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
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
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
