import { expect, it } from 'vitest';
import { formatSummary } from '../src/report.js';
import { runChaos } from '../src/run.js';

// The short CI form of `pnpm chaos --seed 7 --duration 40 --topology sentinel`: the delivery
// promise (SPEC.md section 9) under a seeded random schedule of faults. On failure the summary
// (seed, faults, first lost events with the faults around them) is printed; replay the seed with
// `pnpm chaos` and read the run directory it names.
it('keeps the delivery promise on sentinel Redis under faults (seed 7)', async () => {
  const result = await runChaos({ seed: 7, durationSeconds: 40, topology: 'sentinel' });
  const { verdict } = result;
  if (!verdict.ok) {
    console.log(
      formatSummary({
        history: result.history,
        verdict,
        runDir: result.runDir,
        durationSeconds: 40,
        caughtUp: result.caughtUp,
      }),
    );
  }
  expect(verdict.accepted).toBeGreaterThan(1000);
  expect({
    lost: verdict.totals.lost,
    repeated: verdict.totals.repeated,
    outOfOrder: verdict.totals.outOfOrder,
    unsignalledGaps: verdict.totals.gaps,
    phantom: verdict.totals.phantom,
    fatal: verdict.totals.fatal,
    gatewayCrashes: verdict.crashes,
  }).toEqual({
    lost: 0,
    repeated: 0,
    outOfOrder: 0,
    unsignalledGaps: 0,
    phantom: 0,
    fatal: 0,
    gatewayCrashes: 0,
  });
});
