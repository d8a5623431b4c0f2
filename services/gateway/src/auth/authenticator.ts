/**
 * The authentication and authorization stages of the request pipeline (SPEC 6). The pipeline
 * order is fixed (ready → token → parse → authorize → limits) so errors come out in SPEC order
 * whatever is plugged in here. This file holds the open policy used when no `AUTH_*` setting
 * is given; JWT verification plugs in behind the same interface.
 */
import type { IncomingMessage } from 'node:http';
import type { Pattern } from '@ssehub/protocol';

/** Who is asking. `sub` is undefined for anonymous clients. */
export interface Principal {
  readonly sub: string | undefined;
  /** Patterns this principal may subscribe to; undefined = anything. */
  readonly subscribe: readonly Pattern[] | undefined;
  /** Patterns this principal may publish to; undefined = anything. */
  readonly publish: readonly Pattern[] | undefined;
}

/** What a request carries that authentication may read. */
export interface Credentials {
  readonly req: IncomingMessage;
  /** `?access_token=` (SPEC 6: after the Authorization header and the cookie). */
  readonly accessToken: string | undefined;
}

/**
 * Who is asking, and what they may do (SPEC 6): the gateway's one question to its auth policy.
 * By default the open policy (no `AUTH_*` setting); a library user may pass their own
 * (`createGateway({ authenticator })`).
 */
export interface Authenticator {
  /** True when tokens are checked at all (affects the public publish routes and CORS defaults). */
  readonly isEnabled: boolean;
  /**
   * Returns the principal, or undefined when no valid token was sent. Throws nothing for a
   * missing token: whether one is needed depends on the patterns (PUBLIC_TOPICS).
   */
  authenticate(credentials: Credentials): Promise<Principal | undefined>;
  /** True when every pattern is open to anonymous clients (no token needed). */
  isPublic(patterns: readonly string[]): boolean;
  /** True when the principal may subscribe to every pattern. */
  maySubscribe(principal: Principal | undefined, patterns: readonly Pattern[]): boolean;
  /** True when the principal may publish to the topic. */
  mayPublish(principal: Principal | undefined, topic: string): boolean;
}

/** Auth off (no `AUTH_*` setting): anyone may subscribe to anything (SPEC 6 development default). */
export const openAuthenticator: Authenticator = {
  isEnabled: false,
  authenticate: () => Promise.resolve(undefined),
  isPublic: () => true,
  maySubscribe: () => true,
  mayPublish: () => false,
};
