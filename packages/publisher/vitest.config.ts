import { defineConfig } from 'vitest/config';
// Types `inject('redisUrl')` in the tests (the setup's ProvidedContext augmentation).
import type {} from '@ssehub/local-redis/vitest-global-setup';

export default defineConfig({
  test: {
    name: 'publisher',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // A real `redis-server` on a free port for the integration tests (@ssehub/local-redis).
    globalSetup: ['@ssehub/local-redis/vitest-global-setup'],
    // Generous hang guards only: this is a shared 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The JSON report feeds the `N passed, N failed` line of .ci/run (scripts/test-summary.mjs).
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
  },
});
