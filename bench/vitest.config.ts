import { defineConfig } from 'vitest/config';

// Measurements that take minutes and print figures for the issues' targets; never part of
// `npm test`. Run: npm run bench:measure [-- name-filter]
export default defineConfig({
  test: {
    include: ['bench/**/*.measure.ts'],
    testTimeout: 600_000,
    maxWorkers: 1,
  },
});
