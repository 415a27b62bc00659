// Startup waits for the filter of valid key hashes before the gateway listens. Until it is built
// every cache miss asks Postgres, and at a million keys the misses of a cold cache queue behind
// the build's own paging: requests served then took up to a second (bench/keys). Not listening is
// what keeps traffic away from this process in every deployment: under `serve --workers` the
// port is shared, so a /ready answer from another worker could not. The wait is bounded so a
// build stalled by a slow Postgres does not outlast an orchestrator's liveness probe; past it
// the gateway serves with misses going to Postgres (batched, bounded), as correct if slower.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { PrincipalCache } from './principal-cache.js';

// Under the Helm chart's liveness allowance (3 probes 10 s apart), with room for the rest of startup.
export const keyFilterMaxWaitMs = 20_000;

export async function waitForKeyFilter(principals: Pick<PrincipalCache, 'ready'>, logger: Logger, maxWaitMs = keyFilterMaxWaitMs): Promise<void> {
  const startedMs = performance.now();
  const built = (): void => logger.info({ ms: Math.round(performance.now() - startedMs) }, 'filter of valid key hashes built');
  const giveUp = new AbortController();
  const inTime = await Promise.race([principals.ready.then(() => true), sleep(maxWaitMs, false, { signal: giveUp.signal, ref: false }).catch(() => false)]);
  giveUp.abort();
  if (inTime) {
    built();
    return;
  }
  logger.warn({ waitedMs: maxWaitMs }, 'listening before the filter of valid key hashes is built: cache misses ask Postgres until it is');
  void principals.ready.then(built);
}
