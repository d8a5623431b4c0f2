/**
 * What both publishers (Redis and HTTP) do the same way around their own I/O: refuse work after
 * `close()` with `CLOSED`, count the publishes in flight, and close once, after those settled.
 */
import { PublisherError } from './errors.js';

/** The closing and in-flight bookkeeping of one publisher. */
export class PublisherLifecycle {
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;
  #closing: Promise<void> | undefined;

  /** True once `close()` was called (publishes already in flight still finish). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Throws `CLOSED` when `close()` was called; `what` names the call, e.g. `publish()`. */
  checkOpen(what: string): void {
    if (this.#closed) {
      throw new PublisherError(
        'CLOSED',
        `${what} called after close(). Create a new publisher, or keep one per process and close it on shutdown only.`,
      );
    }
  }

  /** Counts `work` in flight until it settles, so `close()` waits for it; resolves as it does. */
  async track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    try {
      return await work;
    } finally {
      this.#inFlight.delete(work);
    }
  }

  /**
   * Marks the publisher closed, waits for the publishes in flight to settle, then runs
   * `shutdown` (release connections, stop the breaker). Every call gets the same promise, so
   * `shutdown` runs once.
   */
  close(shutdown: () => Promise<void> | void): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      await shutdown();
    })();
    return this.#closing;
  }
}
