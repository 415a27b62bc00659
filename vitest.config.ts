import { defineConfig } from 'vitest/config';

// Suites start real servers, Redis and Postgres connections: isolate them in forks and give
// each file its own Redis db / key prefix and Postgres database (see test/helpers).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
