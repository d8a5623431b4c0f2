/**
 * Waiting on a Redis client while the broker starts and serves: until it is ready, at most so
 * long, or until the broker is closed (an `AbortSignal`). Each rejects with an error that says
 * which of these happened, so the start-up loop can tell a retry from a stop.
 */
import type { RedisClient } from './redis-connections.js';

/** Rejects with `what` when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`${what} within ${String(ms)} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** close() was called while start() was still waiting for Redis. */
export class BrokerClosedError extends Error {
  override readonly name = 'BrokerClosedError';
  constructor() {
    super('the broker was closed before it was started');
  }
}

/** The commands connection did not become ready within one start-up attempt. */
export class StartTimeout extends Error {
  override readonly name = 'StartTimeout';
}

/**
 * Resolves once the client is ready; rejects with {@link StartTimeout} after `timeoutMs`, or
 * with the signal's reason when it aborts (the broker was closed).
 */
export function whenReady(
  client: RedisClient,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  // A client that gave up (or never started) is told to connect again; ioredis retries itself.
  if (client.status === 'end' || client.status === 'wait') client.connect().catch(() => undefined);
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      signal.removeEventListener('abort', onAbort);
    };
    const timer = setTimeout(() => {
      done();
      reject(new StartTimeout(`not ready within ${String(timeoutMs)} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      done();
      resolve();
    };
    const onAbort = (): void => {
      done();
      reject(new BrokerClosedError());
    };
    client.once('ready', onReady);
    signal.addEventListener('abort', onAbort);
  });
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rejects with the signal's reason when it aborts. */
export function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(new BrokerClosedError());
    signal.addEventListener('abort', () => {
      reject(new BrokerClosedError());
    });
  });
}
