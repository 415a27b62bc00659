import { setFlagsFromString } from 'node:v8';

// Bounds the old generation's growth past its live size (server.heapGrowingPercent). V8 reads the
// factor each time it sets the next full-GC limit, so setting it as the process starts is enough.
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
