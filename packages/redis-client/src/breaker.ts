/**
 * The one circuit breaker (opossum) ssehub puts around its request-path I/O: the gateway's
 * Redis scripts (STYLE.md A13, DESIGN.md "Failure handling") and both publishers' calls
 * (SPEC 8). While the dependency fails, calls fail at once instead of each waiting for its own
 * timeout; the state is reported through `onStateChange`. Never around a long-lived
 * subscription, and never tied to readiness (SPEC 9).
 */
import CircuitBreaker from 'opossum';

/** State of a circuit breaker. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** Settings of {@link createBreaker}. */
export interface BreakerOptions {
  /** Name in opossum's events (and in the caller's logs). */
  readonly name: string;
  /**
   * Failure percentage over the rolling window (10 s) that opens the circuit.
   * @defaultValue 50
   */
  readonly errorThresholdPercentage?: number | undefined;
  /**
   * How long the circuit stays open before one trial call, in milliseconds, unless
   * {@link Breaker.onHealthy} closes it first.
   * @defaultValue 5000
   */
  readonly resetTimeoutMs?: number | undefined;
  /**
   * Calls in the window before the percentage counts, so a single failure opens nothing.
   * @defaultValue 10
   */
  readonly volumeThreshold?: number | undefined;
  /**
   * True for errors that are the caller's, not the dependency's: they never open the circuit.
   * @defaultValue none: every error counts
   */
  readonly isCallerError?: ((err: unknown) => boolean) | undefined;
  /**
   * Called on every change of state. An exception thrown here is ignored: a listener's bug must
   * not break the calls.
   * @defaultValue none
   */
  readonly onStateChange?: ((state: BreakerState) => void) | undefined;
}

/** A circuit breaker around one action. */
export interface Breaker<TArgs extends unknown[], TResult> {
  /** Runs the action, or rejects at once while the circuit is open (see {@link isBreakerOpen}). */
  fire(...args: TArgs): Promise<TResult>;
  /** The state now. */
  readonly state: BreakerState;
  /**
   * The dependency reports itself healthy again (a Redis connection emitted `ready`, after its
   * ready check): closes an open or half-open circuit at once, so calls go through again
   * without waiting out `resetTimeoutMs` (SPEC 9: "no breaker delay beyond one probe"; the
   * ready check is that probe). Does nothing while closed or shut down.
   */
  onHealthy(): void;
  /** Stops the breaker's timers; later calls reject. */
  shutdown(): void;
}

/** Wraps `action` in a circuit breaker with the given settings. */
export function createBreaker<TArgs extends unknown[], TResult>(
  action: (...args: TArgs) => Promise<TResult>,
  options: BreakerOptions,
): Breaker<TArgs, TResult> {
  const isCallerError = options.isCallerError;
  const breaker = new CircuitBreaker<TArgs, TResult>(action, {
    name: options.name,
    // Every call has its own timeout (the Redis command timeout, or the request's AbortSignal);
    // a second one here would race it.
    timeout: false,
    errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
    resetTimeout: options.resetTimeoutMs ?? 5000,
    volumeThreshold: options.volumeThreshold ?? 10,
    // true means "not a failure".
    errorFilter: (err: unknown) => isCallerError?.(err) ?? false,
  });
  const notify = options.onStateChange;
  if (notify !== undefined) {
    const emit = (state: BreakerState): void => {
      try {
        notify(state);
      } catch {
        // Documented on onStateChange: ignored.
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
  return {
    fire: (...args) => breaker.fire(...args),
    get state(): BreakerState {
      if (breaker.opened) return 'open';
      return breaker.halfOpen ? 'half_open' : 'closed';
    },
    onHealthy: () => {
      // opossum's close() also cancels the pending half-open timer. A shut-down breaker is
      // neither opened nor half-open, so it stays shut.
      if (breaker.opened || breaker.halfOpen) breaker.close();
    },
    shutdown: () => {
      breaker.shutdown();
    },
  };
}

/**
 * True when `err` is a breaker's own refusal because the circuit is open (opossum rejects such
 * calls with an Error whose code is `EOPENBREAKER`), not a failure of the call itself.
 */
export function isBreakerOpen(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === 'EOPENBREAKER';
}
