/** Waiting in tests: a plain delay, and polling until a condition holds (a hang guard, not a speed assertion). */

// The plain delay and the polling loop are the test kit's (the Redis launchers wait with them);
// re-exported so the tests keep one import for waiting.
import { eventually } from '@ssehub/local-redis';

export { eventually, sleep, type EventuallyOptions } from '@ssehub/local-redis';

/** Polls `probe` until it returns `expected` (deep equality by JSON), or rejects with the last value. */
export async function eventuallyEqual<T>(
  probe: () => Promise<T> | T,
  expected: T,
  timeoutMs = 5000,
): Promise<void> {
  const wanted = JSON.stringify(expected);
  await eventually(probe, (value) => JSON.stringify(value) === wanted, {
    timeoutMs,
    what: `the value ${wanted}`,
  });
}

/** Polls `condition` until it is true; rejects after `timeoutMs` naming `what`. */
export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  await eventually(condition, (met) => met, { timeoutMs, what });
}
