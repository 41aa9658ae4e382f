import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Forks, not threads: the Temporal native bridge has crashed under worker threads.
    pool: 'forks',
    globalSetup: ['test/support/globalSetup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
