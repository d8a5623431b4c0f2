/**
 * Retries with exponential backoff and full jitter, shared by both publishers. Only outages are
 * retried (`BROKER_UNAVAILABLE`, `TIMEOUT`), never while the circuit breaker is open, and every
 * retried publish carries an idempotency key, so a retry never stores an event twice.
 */
import { randomUUID } from 'node:crypto';
import { DEPLOYMENT_DEFAULTS } from '@ssehub/protocol';
import { isBreakerOpen } from '@ssehub/redis-client';
import { PublisherError } from './errors.js';

/** The deployment's default `IDEMPOTENCY_TTL_MS`: the retry window must stay below it. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = DEPLOYMENT_DEFAULTS.idempotencyTtlMs;

/** Retry settings of {@link createPublisher} and {@link createHttpPublisher}. */
export interface RetryOptions {
  /**
   * How many times a publish is retried after `BROKER_UNAVAILABLE` or `TIMEOUT`; 0 turns retries
   * off.
   * @defaultValue 0
   */
  readonly attempts?: number;
  /**
   * The first retry's delay cap, in milliseconds; it doubles with each retry (full jitter: the
   * actual delay is random between 0 and the cap).
   * @defaultValue 100
   */
  readonly baseDelayMs?: number;
  /**
   * The largest delay cap, in milliseconds. `attempts × maxDelayMs` must stay below 300000 (the
   * default `IDEMPOTENCY_TTL_MS`), so a generated idempotency key outlives every retry.
   * @defaultValue 2000
   */
  readonly maxDelayMs?: number;
}

/** Checked retry settings. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

function invalid(message: string): PublisherError {
  return new PublisherError('INVALID_OPTIONS', message);
}

/** Checks the `retry` option; throws `INVALID_OPTIONS`. */
export function checkRetry(retry: RetryOptions | undefined): RetryPolicy {
  const given: unknown = retry;
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw invalid('retry must be { attempts?, baseDelayMs?, maxDelayMs? } or left out.');
  }
  const attempts = retry?.attempts ?? 0;
  const baseDelayMs = retry?.baseDelayMs ?? 100;
  const maxDelayMs = retry?.maxDelayMs ?? 2000;
  if (!Number.isInteger(attempts) || attempts < 0) {
    throw invalid(`retry.attempts is ${String(attempts)}; pass an integer, 0 or more.`);
  }
  if (!Number.isInteger(baseDelayMs) || baseDelayMs <= 0) {
    throw invalid(`retry.baseDelayMs is ${String(baseDelayMs)}; pass a positive integer.`);
  }
  if (!Number.isInteger(maxDelayMs) || maxDelayMs < baseDelayMs) {
    throw invalid(
      `retry.maxDelayMs is ${String(maxDelayMs)}; pass an integer no smaller than retry.baseDelayMs (${baseDelayMs}).`,
    );
  }
  if (attempts * maxDelayMs >= DEFAULT_IDEMPOTENCY_TTL_MS) {
    throw invalid(
      `retry.attempts × retry.maxDelayMs is ${attempts * maxDelayMs} ms, but the retry window must stay below ${DEFAULT_IDEMPOTENCY_TTL_MS} ms (the default IDEMPOTENCY_TTL_MS), or a retry could outlive its idempotency key and store the event twice. Lower attempts or maxDelayMs.`,
    );
  }
  return { attempts, baseDelayMs, maxDelayMs };
}

/** True for failures worth retrying: an outage, with the circuit still closed. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof PublisherError)) return false;
  if (err.code !== 'BROKER_UNAVAILABLE' && err.code !== 'TIMEOUT') return false;
  // A partly stored batch wraps the shard's error as cause. The circuit breaker's refusal is
  // the cause of the PublisherError it became; retrying into an open circuit is pointless.
  const inner = err.cause instanceof PublisherError ? err.cause : err;
  return !isBreakerOpen(inner.cause);
}

/** The cap of retry `n` (0-based): `baseDelayMs × 2^n`, at most `maxDelayMs`. */
export function delayCap(policy: RetryPolicy, n: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** n);
}

/** Adds a generated idempotency key (a UUID) to each event without one, when retries are on. */
export function withKeys<T extends { readonly idempotencyKey?: string | undefined }>(
  policy: RetryPolicy,
  events: readonly T[],
): T[] {
  if (policy.attempts === 0) return [...events];
  return events.map((e) =>
    // JavaScript callers can pass anything in the array; validation reports it later.
    typeof e !== 'object' || (e as unknown) === null || e.idempotencyKey !== undefined
      ? e
      : { ...e, idempotencyKey: randomUUID() },
  );
}

/**
 * Runs `attempt`, then retries it up to `policy.attempts` times after a retryable failure,
 * waiting a random delay between 0 and {@link delayCap} (full jitter) before each retry.
 */
export async function withRetry<T>(policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= policy.attempts || !isRetryable(err)) throw err;
    }
    const delay = Math.floor(Math.random() * delayCap(policy, n));
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
