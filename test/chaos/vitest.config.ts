import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'chaos',
    include: ['test/**/*.test.ts'],
    // The topology runs are long and spawn many processes: one file at a time on a 2-core machine.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // The JSON report feeds the `N passed, N failed` line of .ci/run (scripts/test-summary.mjs).
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
  },
});
