import { defineConfig } from 'vitest/config';

// One Temporal dev server, one workflow bundle and one PostgreSQL database for the whole run
// (tests/setup/global.ts); each test file makes its own task queue and embedded database.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/setup/global.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
