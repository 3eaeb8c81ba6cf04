import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every file fails if a process it started is still running after it (test/helpers/leaks.ts).
    setupFiles: ['test/helpers/leaks.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests spawn real processes and servers; keep the machine responsive.
    maxWorkers: 4,
  },
});
