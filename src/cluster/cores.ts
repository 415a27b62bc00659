// How many cores this process may use: the CPUs it may run on, capped by a cgroup v2 CPU quota.
// A pod limited to 2 CPUs on a 64-core node sees 64 in availableParallelism(); one worker per
// visible core there would be 64 processes fighting over 2 CPUs' worth of time.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export function usableCores(cpuMaxPath = '/sys/fs/cgroup/cpu.max'): number {
  const visible = availableParallelism();
  let text: string;
  try {
    text = readFileSync(cpuMaxPath, 'utf8');
  } catch {
    return visible;
  }
  // "max 100000" (no quota) or "<quota> <period>", both in microseconds.
  const [quota, period] = text.trim().split(/\s+/).map(Number);
  if (!quota || !period || !Number.isFinite(quota)) return visible;
  return Math.max(1, Math.min(visible, Math.ceil(quota / period)));
}
