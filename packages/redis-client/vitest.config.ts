import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'redis-client',
    include: ['src/**/*.test.ts'],
    // The JSON report feeds the `N passed, N failed` line of .ci/run (scripts/test-summary.mjs).
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
  },
});
