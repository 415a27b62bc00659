// The benches' child processes: start one and wait for the line that says it is ready, and read
// the CPU it has used.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;

// Resolves once readyText appears on stdout; stderr is kept for the error if it exits first.
export function startProcess(command: string, args: string[], env: Record<string, string>, readyText: RegExp): Promise<ChildProcess> {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!readyText.test(out)) return;
      // Stop collecting: per-request logs must not pile up in this process.
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${out.slice(-2000)}`)));
  });
}

// CPU seconds a process has used (user + system), from /proc: on a shared two-core machine the
// throughput of one process depends on what else runs, its CPU per request does not.
// The children count too: `serve --workers 2` does its work in two worker processes.
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  try {
    return [pid, ...children].reduce((total, p) => {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return total + (Number(fields[11]) + Number(fields[12])) / 100;
    }, 0);
  } catch {
    return Number.NaN;
  }
}
