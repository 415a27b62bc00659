// The tokenizer pool's queue on /metrics, read at scrape time, so `tollgate system --health` and
// Prometheus see a saturated pool (requests are refused with tokenizer_overloaded once it is full).
// Each worker of a process group has its own pool: the merged scrape keeps the fullest.
import { Gauge, type Registry } from 'prom-client';
import type { TokenizerPool } from './pool.js';

export function registerPoolMetrics(registry: Registry, pool: Pick<TokenizerPool, 'queued'>, maxQueue: number): void {
  new Gauge({
    name: 'tollgate_tokenizer_queue_length',
    help: 'Token counts waiting for a tokenizer thread.',
    aggregator: 'max',
    registers: [registry],
    collect() {
      this.set(pool.queued);
    },
  });
  new Gauge({ name: 'tollgate_tokenizer_queue_max', help: 'Token counts the tokenizer queue holds before refusing (tokens.poolMaxQueue).', aggregator: 'max', registers: [registry] }).set(maxQueue);
}
