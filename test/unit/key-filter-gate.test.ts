// Startup's wait for the filter of valid key hashes: the gateway listens once the filter is built,
// or after the bounded wait when the build is stalled, and says which happened.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { waitForKeyFilter } from '../../src/auth/key-filter-gate.js';

function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, messages: () => lines.map((l) => l.msg) };
}

describe('waiting for the filter of valid key hashes before listening', () => {
  it('returns once the filter is built, and logs it', async () => {
    const { logger, messages } = capturingLogger();
    let build!: () => void;
    const ready = new Promise<void>((resolve) => (build = resolve));
    let returned = false;
    const waiting = waitForKeyFilter({ ready }, logger, 60_000).then(() => (returned = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(returned).toBe(false);
    build();
    await waiting;
    expect(messages()).toEqual(['filter of valid key hashes built']);
  });

  it('stops waiting after the bound when the build is stalled, warns, and logs the build when it ends', async () => {
    const { logger, messages } = capturingLogger();
    let build!: () => void;
    const ready = new Promise<void>((resolve) => (build = resolve));
    await waitForKeyFilter({ ready }, logger, 20);
    expect(messages()).toEqual(['listening before the filter of valid key hashes is built: cache misses ask Postgres until it is']);
    build();
    await ready;
    await new Promise((resolve) => setImmediate(resolve));
    expect(messages().at(-1)).toBe('filter of valid key hashes built');
  });
});
