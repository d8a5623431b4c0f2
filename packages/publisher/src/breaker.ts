/**
 * The circuit breaker both publishers put around their I/O (SPEC 8), built from their options:
 * it fails fast while the broker or gateway is down, and reports its state through
 * `onStateChange`. The breaker itself is `@ssehub/redis-client`'s, shared with the gateway.
 */
import { createBreaker, type Breaker, type BreakerState } from '@ssehub/redis-client';
import type { PublisherBreakerOptions } from './types.js';

/** What a publisher passes to {@link publisherBreaker}. */
export interface BreakerSetup {
  /** Name in opossum's events. */
  readonly name: string;
  /** The `breaker` option. @defaultValue the breaker's defaults (50 %, 5000 ms, 10 calls) */
  readonly breaker?: PublisherBreakerOptions | undefined;
  /** The `onStateChange` option. @defaultValue none */
  readonly onStateChange?: ((state: BreakerState) => void) | undefined;
  /** True for errors that are not the dependency's fault (they never open the circuit). */
  readonly isCallerError?: (err: unknown) => boolean;
}

/** A breaker around `action` with a publisher's settings. */
export function publisherBreaker<TArgs extends unknown[], TResult>(
  action: (...args: TArgs) => Promise<TResult>,
  setup: BreakerSetup,
): Breaker<TArgs, TResult> {
  const b = setup.breaker ?? {};
  return createBreaker(action, {
    name: setup.name,
    errorThresholdPercentage: b.errorThresholdPercentage,
    resetTimeoutMs: b.resetTimeoutMs,
    volumeThreshold: b.volumeThreshold,
    isCallerError: setup.isCallerError,
    onStateChange: setup.onStateChange,
  });
}
