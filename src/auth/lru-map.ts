// A Map bounded to maxEntries that drops the least recently used entry when full. A Map iterates in
// insertion order, so a read re-inserts its entry and the first entry is always the oldest.
export interface LruMap<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): boolean;
  has(key: K): boolean;
  clear(): void;
  readonly size: number;
}

// onEvict hears entries dropped for room, not ones deleted or cleared by the caller.
export function createLruMap<K, V>(maxEntries: number, onEvict: (key: K, value: V) => void = () => {}): LruMap<K, V> {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error(`maxEntries must be a positive integer, got ${maxEntries}`);
  const map = new Map<K, V>();
  return {
    get(key) {
      const value = map.get(key);
      if (value === undefined) return undefined;
      map.delete(key);
      map.set(key, value);
      return value;
    },
    set(key, value) {
      map.delete(key);
      map.set(key, value);
      if (map.size <= maxEntries) return;
      const [oldestKey, oldestValue] = map.entries().next().value as [K, V];
      map.delete(oldestKey);
      onEvict(oldestKey, oldestValue);
    },
    delete: (key) => map.delete(key),
    has: (key) => map.has(key),
    clear: () => map.clear(),
    get size() {
      return map.size;
    },
  };
}
