// Groups calls that arrive close together so one Redis round trip carries many of them: items
// added under the same key within windowMs (or until maxItems, or maxBytes by sizeOf) go to one
// run(), which answers
// each item in order. Each add() settles with its own answer, or with the batch's failure. With
// windowMs 0 a batch is whatever arrived in the same event-loop turn.
export interface Batcher<T, R> {
  add(key: string, item: T): Promise<R>;
}

export interface BatcherOptions<T, R> {
  readonly windowMs: number;
  readonly maxItems: number;
  // Optional second bound: a batch whose items' sizes reach maxBytes goes at once.
  readonly maxBytes?: number;
  sizeOf?(item: T): number;
  // Must answer with one result per item, in the items' order.
  run(key: string, items: readonly T[]): Promise<readonly R[]>;
}

interface Pending<T, R> {
  items: T[];
  bytes: number;
  waiters: Array<{ resolve: (result: R) => void; reject: (err: unknown) => void }>;
}

export function createBatcher<T, R>(options: BatcherOptions<T, R>): Batcher<T, R> {
  const { windowMs, maxItems, run, maxBytes = Infinity, sizeOf } = options;
  const pending = new Map<string, Pending<T, R>>();

  const flush = (key: string, batch: Pending<T, R>) => {
    if (pending.get(key) !== batch) return;
    pending.delete(key);
    run(key, batch.items).then(
      (results) => {
        batch.waiters.forEach((w, i) => w.resolve(results[i]!));
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
        const created: Pending<T, R> = { items: [], bytes: 0, waiters: [] };
        pending.set(key, created);
        if (windowMs === 0) setImmediate(() => flush(key, created));
        else setTimeout(() => flush(key, created), windowMs);
        batch = created;
      }
      batch.items.push(item);
      if (sizeOf) batch.bytes += sizeOf(item);
      const settled = new Promise<R>((resolve, reject) => batch.waiters.push({ resolve, reject }));
      if (batch.items.length >= maxItems || batch.bytes >= maxBytes) flush(key, batch);
      return settled;
    },
  };
}
