/** Waiting for a process or a deployment: a plain delay, and polling until a condition holds. */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Options of {@link eventually}. */
export interface EventuallyOptions {
  /** Rejects after this long (milliseconds) with the last value seen. @defaultValue 10000 */
  readonly timeoutMs?: number;
  /** Pause between probes, in milliseconds. @defaultValue 20 */
  readonly intervalMs?: number;
  /** What is awaited, for the error message. @defaultValue 'condition' */
  readonly what?: string;
}

/**
 * Polls `probe` until `predicate` holds for its result and returns that result; rejects after
 * `timeoutMs` with the last value seen (a hang guard, not a speed assertion). A probe that throws
 * rejects at once.
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
