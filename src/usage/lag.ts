// How far the ledger is behind the gateway, for /ready and alerts.
import type { UsageConfig } from './config.js';

export interface UsageLag {
  // Entries in the streams or the embedded queue, written or not (trimming runs periodically).
  streamLength: number;
  // Age of the oldest event not yet committed to the ledger; 0 when caught up.
  oldestPendingMs: number;
}

// /ready reports degraded (not down: requests still flow and their usage waits) past this.
export const isLagging = (lag: UsageLag, config: Pick<UsageConfig, 'maxLagMs'>): boolean => lag.oldestPendingMs > config.maxLagMs;
