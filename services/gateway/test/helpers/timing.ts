/** Waiting in tests: a plain delay, and polling until a condition holds (a hang guard, not a speed assertion). */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface EventuallyOptions {
  /** Rejects after this long with the last value seen. @defaultValue 10000 */
  readonly timeoutMs?: number;
  /** Pause between probes. @defaultValue 20 */
  readonly intervalMs?: number;
  /** What is awaited, for the error message. @defaultValue 'condition' */
  readonly what?: string;
}

/**
 * Polls `probe` until `predicate` holds for its result and returns that result; rejects after
 * `timeoutMs` with the last value seen.
 */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  predicate: (value: T) => boolean,
  { timeoutMs = 10_000, intervalMs = 20, what = 'condition' }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (predicate(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(value)}`,
      );
    }
    await sleep(intervalMs);
  }
}

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
