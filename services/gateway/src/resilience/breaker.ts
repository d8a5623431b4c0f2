/**
 * The gateway's logs of the circuit breaker around request-path Redis calls (publish scripts,
 * history reads; STYLE.md A13, DESIGN.md "Failure handling"). The breaker itself is
 * `@ssehub/redis-client`'s, shared with the publisher SDK: while Redis fails or times out, calls
 * fail at once instead of each waiting for its own timeout. Never around the long-lived
 * subscription, and never tied to `/readyz` (SPEC 9).
 */
import type { BreakerState } from '@ssehub/redis-client';
import type { Logger } from 'pino';

export type { BreakerState } from '@ssehub/redis-client';

/** An `onStateChange` for the breaker called `name` that logs each change. */
export function logBreakerState(log: Logger, name: string): (state: BreakerState) => void {
  return (state) => {
    switch (state) {
      case 'open':
        log.warn({ breaker: name }, 'circuit open: failing fast until the dependency recovers');
        break;
      case 'half_open':
        log.info({ breaker: name }, 'circuit half-open: trying one call');
        break;
      case 'closed':
        log.info({ breaker: name }, 'circuit closed');
        break;
    }
  };
}

/**
 * Logs that the dependency is healthy again, when that closes the breaker (it is open or
 * half-open); call it just before the breaker's `onHealthy()`.
 */
export function logHealthy(log: Logger, name: string, state: BreakerState): void {
  if (state !== 'closed') {
    log.info({ breaker: name }, 'dependency healthy again: closing the circuit');
  }
}
