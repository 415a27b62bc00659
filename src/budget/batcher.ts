// Groups calls that arrive close together so one Redis round trip carries many of them: items
// added under the same key within windowMs (or until maxItems) go to one run(). Each add()
// settles when its batch does, so callers keep per-item error handling. With windowMs 0 a batch
// is whatever arrived in the same event-loop turn: no added latency, smaller batches.
export interface Batcher<T> {
  add(key: string, item: T): Promise<void>;
}

export interface BatcherOptions<T> {
  readonly windowMs: number;
  readonly maxItems: number;
  run(key: string, items: readonly T[]): Promise<void>;
}

interface Pending<T> {
  items: T[];
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

export function createBatcher<T>(options: BatcherOptions<T>): Batcher<T> {
  const { windowMs, maxItems, run } = options;
  const pending = new Map<string, Pending<T>>();

  const flush = (key: string, batch: Pending<T>) => {
    if (pending.get(key) !== batch) return;
    pending.delete(key);
    run(key, batch.items).then(
      () => {
        for (const w of batch.waiters) w.resolve();
      },
      (err: unknown) => {
        for (const w of batch.waiters) w.reject(err);
      },
    );
  };

  return {
    add(key, item) {
      let batch = pending.get(key);
      if (!batch) {
        const created: Pending<T> = { items: [], waiters: [] };
        pending.set(key, created);
        if (windowMs === 0) setImmediate(() => flush(key, created));
        else setTimeout(() => flush(key, created), windowMs);
        batch = created;
      }
      batch.items.push(item);
      const settled = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
      if (batch.items.length >= maxItems) flush(key, batch);
      return settled;
    },
  };
}
