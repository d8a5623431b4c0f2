/**
 * What every chaos test asserts: the delivery promise (SPEC.md section 9), with the counts named
 * so a failure says which part broke, and the run's summary printed when it failed (seed,
 * faults, first lost events with the faults around them; replay it with `pnpm chaos`).
 */
import { expect } from 'vitest';
import { formatSummary } from '../src/report.js';
import { runChaos, type ChaosOptions, type ChaosResult } from '../src/run.js';

/** Runs one chaos run and prints its summary when the checker found a violation. */
export async function runAndReport(options: ChaosOptions): Promise<ChaosResult> {
  const result = await runChaos(options);
  if (!result.verdict.ok) {
    console.log(
      formatSummary({
        history: result.history,
        verdict: result.verdict,
        runDir: result.runDir,
        durationSeconds: options.durationSeconds,
        caughtUp: result.caughtUp,
      }),
    );
  }
  return result;
}

export interface PromiseOptions {
  /** Fewest accepted events for the run to count. */
  readonly minAccepted: number;
  /**
   * Every planned fault must have been carried out (a named regression's faults are the point
   * of the test; a random plan may draw one that cannot run, e.g. a publish while Redis is down).
   * @defaultValue false
   */
  readonly faultsMustRun?: boolean;
}

/** The delivery promise held over the whole recorded history. */
export function expectPromiseKept(result: ChaosResult, options: PromiseOptions): void {
  const { verdict, history } = result;
  expect(verdict.accepted).toBeGreaterThan(options.minAccepted);
  if (options.faultsMustRun === true) {
    expect(history.faults.filter((f) => f.error !== undefined)).toEqual([]);
  }
  expect({
    ok: verdict.ok,
    caughtUp: result.caughtUp,
    lost: verdict.totals.lost,
    repeated: verdict.totals.repeated,
    outOfOrder: verdict.totals.outOfOrder,
    unsignalledGaps: verdict.totals.gaps,
    phantom: verdict.totals.phantom,
    fatal: verdict.totals.fatal,
    gatewayCrashes: verdict.crashes,
  }).toEqual({
    ok: true,
    caughtUp: true,
    lost: 0,
    repeated: 0,
    outOfOrder: 0,
    unsignalledGaps: 0,
    phantom: 0,
    fatal: 0,
    gatewayCrashes: 0,
  });
  for (const s of verdict.subscribers) expect(s.expected, s.name).toBeGreaterThan(0);
}
