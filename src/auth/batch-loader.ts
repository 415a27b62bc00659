// Turns many single lookups into few queries: concurrent loads of one key share one promise, and
// keys asked for while a query runs ride together in the next one (at most maxBatch). One query
// runs at a time, so a burst of misses waits here, bounded by maxPending, instead of piling onto
// Postgres.
export class LoaderOverloadedError extends Error {
  override name = 'LoaderOverloadedError';
}

export class LoaderTimeoutError extends Error {
  override name = 'LoaderTimeoutError';
}

export interface BatchLoaderOptions<K, V> {
  // Values of the keys that exist; a key missing from the map does not.
  loadMany(keys: K[]): Promise<ReadonlyMap<K, V>>;
  // Hears each answer that was not forgotten while its query ran (found or not), to cache it.
  store(key: K, value: V | undefined): void;
  maxBatch: number;
  maxPending: number;
  // A query that takes longer fails its waiters and lets the next batch start; Postgres that hangs
  // (a dead host, no RST) must not hold every later miss forever.
  timeoutMs: number;
}

export interface BatchLoader<K, V> {
  load(key: K): Promise<V | undefined>;
  // The key changed: loads from now on query afresh, and an answer already in flight is handed to
  // its waiters but not stored.
  forget(key: K): void;
  forgetAll(): void;
  readonly pending: number;
}

interface Waiter<V> {
  promise: Promise<V | undefined>;
  resolve(value: V | undefined): void;
  reject(err: unknown): void;
}

function waiter<V>(): Waiter<V> {
  let resolve!: Waiter<V>['resolve'];
  let reject!: Waiter<V>['reject'];
  const promise = new Promise<V | undefined>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function createBatchLoader<K, V>(options: BatchLoaderOptions<K, V>): BatchLoader<K, V> {
  const { loadMany, store, maxBatch, maxPending, timeoutMs } = options;
  const queued = new Map<K, Waiter<V>>();
  let running = new Map<K, Waiter<V>>();
  let busy = false;

  function schedule(): void {
    if (busy || queued.size === 0) return;
    busy = true;
    // One turn of the event loop lets the misses of requests that arrived together share a query.
    setImmediate(() => void runBatch());
  }

  async function runBatch(): Promise<void> {
    const batch = new Map<K, Waiter<V>>();
    for (const [key, w] of queued) {
      if (batch.size >= maxBatch) break;
      batch.set(key, w);
      queued.delete(key);
    }
    const current = new Map(batch);
    running = current;
    let timer: NodeJS.Timeout | undefined;
    try {
      const found = await Promise.race([
        loadMany([...batch.keys()]),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new LoaderTimeoutError(`lookup took longer than ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      for (const [key, w] of batch) {
        const value = found.get(key);
        if (running === current && current.get(key) === w) store(key, value);
        w.resolve(value);
      }
    } catch (err) {
      for (const w of batch.values()) w.reject(err);
    } finally {
      clearTimeout(timer);
      if (running === current) running = new Map();
      busy = false;
      schedule();
    }
  }

  return {
    load(key) {
      const shared = running.get(key) ?? queued.get(key);
      if (shared) return shared.promise;
      if (queued.size + running.size >= maxPending) return Promise.reject(new LoaderOverloadedError(`${maxPending} lookups are already waiting`));
      const w = waiter<V>();
      queued.set(key, w);
      schedule();
      return w.promise;
    },
    forget: (key) => void running.delete(key),
    forgetAll: () => void (running = new Map()),
    get pending() {
      return queued.size + running.size;
    },
  };
}
