import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The JSON report feeds the `N passed, N failed` line of .ci/run (scripts/test-summary.mjs).
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
    projects: [
      {
        // Offline checks of the deployment files (no container engine or cluster is needed; the
        // Dockerfile's entry points run from a `pnpm deploy` folder).
        test: {
          name: 'deploy-checks',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts'],
          // Generous hang guards only: `pnpm deploy` takes seconds on this shared machine.
          testTimeout: 60_000,
          hookTimeout: 120_000,
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
