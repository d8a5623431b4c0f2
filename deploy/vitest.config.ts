import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The JSON report feeds the `N passed, N failed` line of .ci/run (scripts/test-summary.mjs).
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
    projects: [
      {
        // Offline checks of the deployment files: no server is started.
        test: {
          name: 'deploy-checks',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts'],
        },
      },
      {
        test: {
          name: 'deploy-stack',
          include: ['test/**/*.int.test.ts', 'src/**/*.test.ts'],
          // Generous hang guards only: this is a shared 2-core machine.
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
