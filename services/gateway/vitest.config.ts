import { defineConfig } from 'vitest/config';
// Types `inject('redisUrl')` in the tests (the setup's ProvidedContext augmentation).
import type {} from '@ssehub/local-redis/vitest-global-setup';

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
          // A real Redis for the Redis broker's tests (@ssehub/local-redis): a redis:7.0
          // container where a container engine runs, else a redis-server.
          globalSetup: ['@ssehub/local-redis/vitest-global-setup'],
          provide: { redisContainer: 'redis:7.0' },
          // Generous hang guards only: this is a shared 2-core machine.
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
