/**
 * The circuit breaker both publishers put around their I/O (SPEC 8): it fails fast while the
 * broker or gateway is down, and reports its state through `onStateChange`.
 */
import CircuitBreaker from 'opossum';
import type { BreakerState, PublisherBreakerOptions } from './publisher.js';

export interface BreakerSetup {
  /** Name in opossum's events. */
  readonly name: string;
  readonly breaker?: PublisherBreakerOptions | undefined;
  readonly onStateChange?: ((state: BreakerState) => void) | undefined;
  /** True for errors that are not the dependency's fault (they never open the circuit). */
  readonly isCallerError?: (err: unknown) => boolean;
}

export function createBreaker<TArgs extends unknown[], TResult>(
  action: (...args: TArgs) => Promise<TResult>,
  setup: BreakerSetup,
): CircuitBreaker<TArgs, TResult> {
  const b = setup.breaker ?? {};
  const isCallerError = setup.isCallerError;
  const breaker = new CircuitBreaker(action, {
    name: setup.name,
    // Every call has its own timeout (command timeout, or the request's AbortSignal); a second
    // one here would race it.
    timeout: false,
    errorThresholdPercentage: b.errorThresholdPercentage ?? 50,
    resetTimeout: b.resetTimeoutMs ?? 5000,
    volumeThreshold: b.volumeThreshold ?? 10,
    // true means "not a failure".
    ...(isCallerError === undefined ? {} : { errorFilter: (err: unknown) => isCallerError(err) }),
  });
  const notify = setup.onStateChange;
  if (notify !== undefined) {
    const emit = (state: BreakerState): void => {
      try {
        notify(state);
      } catch {
        // A listener's bug must not break publishing (documented on onStateChange).
      }
    };
    breaker.on('open', () => {
      emit('open');
    });
    breaker.on('halfOpen', () => {
      emit('half_open');
    });
    breaker.on('close', () => {
      emit('closed');
    });
  }
  return breaker;
}

/** The breaker's state in the publishers' words. */
export function stateOf(breaker: {
  readonly opened: boolean;
  readonly halfOpen: boolean;
}): BreakerState {
  if (breaker.opened) return 'open';
  return breaker.halfOpen ? 'half_open' : 'closed';
}

/**
 * Closes an open or half-open circuit at once because the dependency reported itself healthy
 * (the Redis connection emitted `ready`, after its ready check), so publishes go through again
 * without waiting out `resetTimeoutMs` (SPEC 9: "no breaker delay beyond one probe"). The
 * gateway's breaker does the same (`onHealthy`). Does nothing while closed or shut down.
 */
export function closeWhenHealthy(breaker: {
  readonly opened: boolean;
  readonly halfOpen: boolean;
  close(): void;
}): void {
  // opossum's close() also cancels the pending half-open timer.
  if (breaker.opened || breaker.halfOpen) breaker.close();
}
