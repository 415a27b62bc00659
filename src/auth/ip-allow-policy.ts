// Enforces IP allow-lists on the request path: the lists compiled into one address set per key and
// per org, swapped whole on reload (start, every {kind:'budgets'} invalidation, and a periodic
// backstop), so a check is two map lookups and, only when a list applies, a BlockList lookup.
// A key's list and its org's list must both admit the client.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { loadIpAllowLists, type IpAllowList } from '../control/ip-allow-lists.js';
import { watchReloads } from '../control/reload-watch.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { InvalidationBus } from './invalidation.js';
import { requestAddress } from './ip-allow-client.js';
import { type AddressSet, compileAddressSet } from './ip-allow-list.js';
import type { Principal } from './principal.js';

export interface IpAllowPolicy {
  readonly empty: boolean;
  admits(principal: Pick<Principal, 'keyId' | 'orgId'>, address: string | undefined): boolean;
}

export function compileIpAllowPolicy(rows: readonly Pick<IpAllowList, 'scope' | 'scopeId' | 'orgId' | 'cidrs'>[]): IpAllowPolicy {
  const byKey = new Map<string, AddressSet>();
  const byOrg = new Map<string, AddressSet>();
  for (const row of rows) (row.scope === 'key' ? byKey : byOrg).set(row.scope === 'key' ? row.scopeId : row.orgId, compileAddressSet(row.cidrs));
  const within = (set: AddressSet | undefined, address: string | undefined) => set === undefined || (address !== undefined && set.has(address));
  return {
    empty: rows.length === 0,
    admits: (principal, address) => within(byKey.get(principal.keyId), address) && within(byOrg.get(principal.orgId), address),
  };
}

export interface IpAllowGuard {
  // Throws ip_not_allowed when a list applies to the principal and does not hold the client.
  check(req: IncomingMessage, principal: Principal): void;
  reload(): Promise<void>;
  stop(): void;
}

export async function watchIpAllowLists(options: { db: Db; bus: InvalidationBus; trustedProxies: readonly string[]; refreshMs: number; logger: Logger }): Promise<IpAllowGuard> {
  const { db, bus, refreshMs, logger } = options;
  const trusted = compileAddressSet(options.trustedProxies);
  let policy = compileIpAllowPolicy([]);
  const watch = await watchReloads({
    // A failed load keeps the lists in force: failing open would drop every list while Postgres is away.
    load: async () => {
      policy = compileIpAllowPolicy(await loadIpAllowLists(db));
    },
    bus,
    refreshMs,
    logger,
    what: 'IP allow-lists',
  });
  return {
    check(req, principal) {
      if (policy.empty) return;
      if (!policy.admits(principal, requestAddress(req, trusted))) throw new GatewayError('ip_not_allowed');
    },
    reload: watch.reload,
    stop: watch.stop,
  };
}
