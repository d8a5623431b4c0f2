/**
 * Helpers for the operations suites (SPEC 10): an injectable authenticator that takes the
 * subject from a test header and remembers each subscribe request's server-side socket (so a
 * test can see how many bytes the gateway holds for a client that does not read). Metrics are
 * read with metrics.ts, polling is in timing.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Authenticator, Principal } from '../../src/index.js';

/** The header {@link HeaderAuthenticator} reads the subject from. */
export const TEST_SUB_HEADER = 'x-test-sub';

/**
 * Authentication for tests: a request with `x-test-sub: alice` is alice, one without is
 * anonymous; everything is public and allowed. Also records the server side of every
 * subscribe request by its path and query (`/subscribe/a`).
 */
export class HeaderAuthenticator implements Authenticator {
  readonly isEnabled = true;
  /** The server-side request of each subscribe request, by URL (the latest wins). */
  readonly requests = new Map<string, IncomingMessage>();

  authenticate({ req }: { req: IncomingMessage }): Promise<Principal | undefined> {
    if (req.url !== undefined) this.requests.set(req.url, req);
    const sub = req.headers[TEST_SUB_HEADER];
    if (typeof sub !== 'string' || sub === '') return Promise.resolve(undefined);
    return Promise.resolve({ sub, subscribe: undefined, publish: undefined });
  }

  isPublic(): boolean {
    return true;
  }

  maySubscribe(): boolean {
    return true;
  }

  mayPublish(): boolean {
    return false;
  }

  /** The server-side socket of the subscribe request to `url` (path and query). */
  socketOf(url: string): Socket {
    const req = this.requests.get(url);
    if (req === undefined) throw new Error(`no subscribe request to ${url} was seen`);
    return req.socket;
  }
}
