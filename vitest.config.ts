import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Worker-thread tests spawn real threads; two cores, so keep files from piling up.
    maxWorkers: 2,
  },
});
