import { describe, expect, it } from 'vitest';
import { createBatcher } from '../../src/budget/batcher.js';

function recorder(fail?: (key: string) => boolean) {
  const runs: Array<{ key: string; items: readonly number[] }> = [];
  return {
    runs,
    run: async (key: string, items: readonly number[]) => {
      runs.push({ key, items: [...items] });
      if (fail?.(key)) throw new Error(`run failed for ${key}`);
      return items.map((n) => `${key}:${n}`);
    },
  };
}

describe('batcher', () => {
  it('groups what arrives within the window by key, one run per key', async () => {
    const r = recorder();
    const batcher = createBatcher({ windowMs: 5, maxItems: 100, run: r.run });
    expect(await Promise.all([batcher.add('a', 1), batcher.add('b', 2), batcher.add('a', 3)])).toEqual(['a:1', 'b:2', 'a:3']);
    expect(r.runs.toSorted((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: 'a', items: [1, 3] },
      { key: 'b', items: [2] },
    ]);
    await batcher.add('a', 4);
    expect(r.runs.at(-1)).toEqual({ key: 'a', items: [4] });
  });

  it('runs a full batch at once and starts a new one', async () => {
    const r = recorder();
    // A window far longer than the test: only maxItems can flush the first batch in time.
    const batcher = createBatcher({ windowMs: 60_000, maxItems: 2, run: r.run });
    await Promise.all([batcher.add('a', 1), batcher.add('a', 2)]);
    expect(r.runs).toEqual([{ key: 'a', items: [1, 2] }]);
  });

  it('with a zero window batches one event-loop turn', async () => {
    const r = recorder();
    const batcher = createBatcher({ windowMs: 0, maxItems: 100, run: r.run });
    const first = [batcher.add('a', 1), batcher.add('a', 2)];
    await Promise.all(first);
    await batcher.add('a', 3);
    expect(r.runs).toEqual([
      { key: 'a', items: [1, 2] },
      { key: 'a', items: [3] },
    ]);
  });

  it('rejects every item of a failed batch and only those', async () => {
    const r = recorder((key) => key === 'bad');
    const batcher = createBatcher({ windowMs: 1, maxItems: 100, run: r.run });
    const results = await Promise.allSettled([batcher.add('bad', 1), batcher.add('good', 2), batcher.add('bad', 3)]);
    expect(results.map((x) => x.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
  });
});
