/**
 * The circuit breaker around request-path Redis calls (publish scripts, history reads; STYLE.md
 * A13, DESIGN.md "Failure handling"): while Redis fails or times out, calls fail at once instead
 * of each waiting for its own timeout, and the state is reported. Never around the long-lived
 * subscription, and never tied to `/readyz` (SPEC 9).
 */
import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';

export type BreakerState = 'closed' | 'half_open' | 'open';

export interface BreakerOptions {
  /** Name in logs and metrics. */
  readonly name: string;
  /** Failure percentage over the rolling window that opens the circuit. @defaultValue 50 */
  readonly errorThresholdPercentage?: number;
  /**
   * How long the circuit stays open before one trial call, in ms, unless {@link Breaker.onHealthy}
   * closes it first. @defaultValue 5000
   */
  readonly resetTimeoutMs?: number;
  /** Calls in the window before the percentage counts (a single failure opens nothing). @defaultValue 10 */
  readonly volumeThreshold?: number;
  /** True for errors that are the caller's, not the dependency's (they never open the circuit). */
  readonly isCallerError?: (err: unknown) => boolean;
}

export interface Breaker<TArgs extends unknown[], TResult> {
  fire(...args: TArgs): Promise<TResult>;
  readonly state: BreakerState;
  /** True when the rejection came from the open circuit itself, not from the call. */
  isOpenError(err: unknown): boolean;
  /**
   * The dependency reports itself healthy again (the Redis commands connection emitted
   * `ready`): closes an open or half-open circuit at once, so calls go through again without
   * waiting out `resetTimeoutMs` (SPEC 9: "no breaker delay beyond one probe"; the connection's
   * ready check is that probe). Does nothing while the circuit is closed.
   */
  onHealthy(): void;
  shutdown(): void;
}

export function createBreaker<TArgs extends unknown[], TResult>(
  action: (...args: TArgs) => Promise<TResult>,
  options: BreakerOptions,
  log: Logger,
): Breaker<TArgs, TResult> {
  const breaker = new CircuitBreaker<TArgs, TResult>(action, {
    name: options.name,
    // The Redis client has its own command timeout; a second one here would race it.
    timeout: false,
    errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
    resetTimeout: options.resetTimeoutMs ?? 5000,
    volumeThreshold: options.volumeThreshold ?? 10,
    errorFilter: (err: unknown) => options.isCallerError?.(err) ?? false,
  });
  breaker.on('open', () => {
    log.warn({ breaker: options.name }, 'circuit open: failing fast until the dependency recovers');
  });
  breaker.on('halfOpen', () => {
    log.info({ breaker: options.name }, 'circuit half-open: trying one call');
  });
  breaker.on('close', () => {
    log.info({ breaker: options.name }, 'circuit closed');
  });
  return {
    fire: (...args) => breaker.fire(...args),
    get state(): BreakerState {
      if (breaker.opened) return 'open';
      return breaker.halfOpen ? 'half_open' : 'closed';
    },
    isOpenError: (err) =>
      err instanceof Error && 'code' in err && (err as { code?: unknown }).code === 'EOPENBREAKER',
    onHealthy: () => {
      if (!breaker.opened && !breaker.halfOpen) return; // closed, or shut down
      log.info({ breaker: options.name }, 'dependency healthy again: closing the circuit');
      // opossum's close() also cancels the pending half-open timer.
      breaker.close();
    },
    shutdown: () => {
      breaker.shutdown();
    },
  };
}
