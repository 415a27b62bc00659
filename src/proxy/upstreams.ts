// One undici Pool per configured provider, keep-alive, with the connect / first-byte / idle
// timeouts from config. Upstream hosts come only from config, never from a request.
import { Pool } from 'undici';
import type { RuntimeConfig } from '../config/load.js';
import type { ProviderConfig } from '../config/schema.js';

export interface Upstream {
  readonly name: string;
  readonly config: ProviderConfig;
  readonly pool: Pool;
  readonly origin: string;
}

export interface Upstreams {
  get(name: string): Upstream | undefined;
  close(): Promise<void>;
}

export function createUpstreams(config: RuntimeConfig): Upstreams {
  const byName = new Map<string, Upstream>();
  for (const [name, provider] of config.providers) {
    const origin = new URL(provider.baseUrl).origin;
    const pool = new Pool(origin, {
      connections: provider.connections,
      connect: { timeout: config.upstream.connectTimeoutMs },
      headersTimeout: config.upstream.firstByteTimeoutMs,
      bodyTimeout: config.upstream.idleTimeoutMs,
      keepAliveTimeout: 30_000,
    });
    byName.set(name, { name, config: provider, pool, origin });
  }
  return {
    get: (name) => byName.get(name),
    close: async () => {
      await Promise.all([...byName.values()].map((u) => u.pool.close()));
    },
  };
}
