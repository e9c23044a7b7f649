import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 120_000,
    // Two cores in CI: one worker per core keeps suites from starving each other.
    maxWorkers: 2,
  },
});
