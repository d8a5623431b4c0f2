import { it } from 'vitest';
import { expectPromiseKept, runAndReport } from './promise.js';

// The short CI form of `pnpm chaos --seed <seed> --duration 40 --topology <topology>`: the
// delivery promise under a seeded random schedule of faults, one run per topology.
const RUNS = [
  ['standalone', 42],
  ['sentinel', 7],
  ['cluster', 3],
] as const;

for (const [topology, seed] of RUNS) {
  it(`keeps the delivery promise on ${topology} Redis under faults (seed ${String(seed)})`, async () => {
    const result = await runAndReport({ seed, durationSeconds: 40, topology });
    expectPromiseKept(result, { minAccepted: 1000 });
  });
}
