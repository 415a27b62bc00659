// The in-process principal cache the hot path reads: key hash -> Principal. Loaded in full at
// start, patched on each invalidation message, and reloaded in full periodically as a backstop.
import type { Db } from '../db/database.js';
import type { Invalidation, InvalidationBus } from './invalidation.js';
import { loadPrincipals } from './principal-loader.js';
import type { Principal } from './principal.js';

export interface PrincipalCache {
  get(hash: string): Principal | undefined;
  // Resolves once the change is visible in this process (tests and the CLI use it).
  apply(message: Invalidation): Promise<void>;
  readonly size: number;
  close(): void;
}

export interface PrincipalCacheOptions {
  db: Db;
  bus: InvalidationBus;
  refreshMs: number;
  onError: (err: unknown) => void;
}

export async function createPrincipalCache(options: PrincipalCacheOptions): Promise<PrincipalCache> {
  const { db, bus, refreshMs, onError } = options;
  let byHash = new Map<string, Principal>();

  // Updates are serialised so a slow full reload cannot overwrite a newer single-key patch.
  let queue: Promise<void> = Promise.resolve();
  const apply = (message: Invalidation): Promise<void> => {
    queue = queue.then(() => applyNow(message)).catch(onError);
    return queue;
  };

  async function applyNow(message: Invalidation): Promise<void> {
    // Budget rule changes are for the budget engine; principals do not carry budgets.
    if (message.kind === 'budgets') return;
    if (message.kind === 'all') {
      const loaded = await loadPrincipals(db, { kind: 'all' });
      byHash = new Map(loaded.map((l) => [l.hash, l.principal]));
      return;
    }
    const loaded = await loadPrincipals(db, message);
    for (const [hash, principal] of byHash) {
      if ((message.kind === 'key' ? principal.keyId : principal.userId) === message.id) byHash.delete(hash);
    }
    for (const l of loaded) byHash.set(l.hash, l.principal);
  }

  await applyNow({ kind: 'all' });
  await bus.subscribe((message) => void apply(message));
  const timer = setInterval(() => void apply({ kind: 'all' }), refreshMs);
  timer.unref();

  return {
    get: (hash) => byHash.get(hash),
    apply,
    get size() {
      return byHash.size;
    },
    close: () => clearInterval(timer),
  };
}
