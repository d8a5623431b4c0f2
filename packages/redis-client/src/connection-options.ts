/**
 * ioredis options of a request-path connection (STYLE.md A9), the same for the gateway's
 * commands connection and the publisher's own: fail fast while Redis is down, so the circuit
 * breaker sees it, and never resend a command that got no answer, since a resent publish script
 * would store the event twice under two ids.
 */

/** The request-path options, as ioredis `RedisOptions` fields. */
export interface RequestPathOptions {
  /** No offline queue: a command while disconnected fails at once. */
  readonly enableOfflineQueue: false;
  /** One retry of a command whose connection dropped, then it fails. */
  readonly maxRetriesPerRequest: 1;
  /** No resend of unanswered commands after a reconnect (a publish must not run twice). */
  readonly autoResendUnfulfilledCommands: false;
  /** How long one command may take before it fails, in milliseconds. */
  readonly commandTimeout: number;
}

/**
 * The request-path options with a command timeout.
 * @param commandTimeoutMs - How long one command may take, in milliseconds (the gateway's
 *   default is 2000, the publisher's 5000).
 */
export function requestPathOptions(commandTimeoutMs: number): RequestPathOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
  };
}

/**
 * Per-node options for an ioredis `Cluster` (its `redisOptions`): everything but
 * `enableOfflineQueue`, which the `Cluster` manages itself (set it on the cluster's options).
 */
export function clusterNodeOptions<T extends { readonly enableOfflineQueue?: boolean }>(
  options: T,
): Omit<T, 'enableOfflineQueue'> {
  const { enableOfflineQueue: _queue, ...rest } = options;
  return rest;
}
