import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'redis-client',
    // *.int.test.ts start a real redis-server on a free loopback port (@ssehub/local-redis).
    include: ['src/**/*.test.ts'],
    // Generous hang guards only: this is a shared 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The JSON report feeds the `N passed, N failed` line of .ci/run (scripts/test-summary.mjs).
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
  },
});
