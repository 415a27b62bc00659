// A throwaway Postgres server owned by one test file, for faults that stop the database: the
// shared server at 127.0.0.1:5432 serves other suites and must never be stopped. Runs the
// distribution's binaries as the `postgres` user on a free loopback port, with a socket and data
// directory under a temp dir that destroy() removes.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const postgresBin = (() => {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort().at(-1) : undefined;
  return version ? join(root, version, 'bin') : undefined;
})();

// Why a throwaway server cannot run here, or undefined when it can.
export function ownPostgresProblem(): string | undefined {
  if (!postgresBin) return 'no /usr/lib/postgresql/*/bin';
  if (process.getuid?.() !== 0) return 'must run as root to start Postgres as the postgres user';
  return undefined;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface OwnPostgres {
  // Superuser URL of the `postgres` database (no password, loopback only).
  adminUrl: string;
  start(): void;
  // Immediate shutdown: open transactions die mid-flight, like a crash.
  stop(): void;
  destroy(): void;
}

export async function createOwnPostgres(): Promise<OwnPostgres> {
  const problem = ownPostgresProblem();
  if (problem) throw new Error(`cannot run a throwaway Postgres: ${problem}`);
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-pg-'));
  chownSync(dir, Number(spawnSync('id', ['-u', 'postgres']).stdout), Number(spawnSync('id', ['-g', 'postgres']).stdout));
  const data = join(dir, 'data');
  const port = await freePort();
  const asPostgres = (bin: string, args: string[]) => {
    const result = spawnSync('runuser', ['-u', 'postgres', '--', join(postgresBin!, bin), ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${bin} failed: ${result.stderr}${result.stdout}`);
  };
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const pgCtl = (...args: string[]) => asPostgres('pg_ctl', ['-D', data, '-w', ...args]);
  const own: OwnPostgres = {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => pgCtl('-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'),
    stop: () => pgCtl('-m', 'immediate', 'stop'),
    destroy() {
      try {
        pgCtl('-m', 'immediate', 'stop');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  own.start();
  return own;
}
