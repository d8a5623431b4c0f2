import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The JSON report feeds the `N passed, N failed` line of .ci/run (scripts/test-summary.mjs).
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
    projects: [
      { test: { name: 'gateway-unit', include: ['src/**/*.test.ts'] } },
      {
        test: {
          name: 'gateway-integration',
          include: ['test/**/*.int.test.ts'],
          // A real Redis for the Redis broker's tests (container, or redis-server as a fallback).
          globalSetup: ['test/helpers/redis-global-setup.ts'],
          // Generous hang guards only: this is a shared 2-core machine.
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
