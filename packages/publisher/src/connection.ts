/**
 * The publisher's own Redis connection, made from the `redis` option, and the wait for it to be
 * ready.
 */
import { Cluster, Redis } from 'ioredis';
import { clusterNodeOptions, requestPathOptions } from '@ssehub/redis-client';
import { invalidOptions } from './options.js';
import type { PublisherOptions } from './types.js';

/** A client of either kind: one server or a Redis Cluster. */
export type Client = Redis | Cluster;

function keyPrefixOf(client: Client): string | undefined {
  if (client instanceof Cluster) {
    return client.options.keyPrefix ?? client.options.redisOptions?.keyPrefix;
  }
  return client.options.keyPrefix;
}

/**
 * The publisher's own connection. Request-path options (STYLE.md A9): no offline queue and one
 * retry, so a publish fails fast while Redis is down and the breaker sees it; no resend of
 * unanswered commands, since a resent publish script would store the event twice.
 */
export function ownConnection(redis: PublisherOptions['redis'], commandTimeout: number): Client {
  const requestPath = requestPathOptions(commandTimeout);
  if (typeof redis === 'string') {
    return new Redis(redis, { ...requestPath, lazyConnect: true, connectionName: 'publisher' });
  }
  const keyPrefix = keyPrefixOf(redis);
  if (keyPrefix !== undefined && keyPrefix !== '') {
    throw invalidOptions(
      `The ioredis client has keyPrefix "${keyPrefix}", which would rewrite the publish script's keys. Pass a client without keyPrefix (or a URL), and set the publisher's prefix option to the deployment's REDIS_PREFIX instead.`,
    );
  }
  if (redis instanceof Cluster) {
    // duplicate() merges these into the cluster's own options and redisOptions.
    return redis.duplicate(undefined, {
      enableOfflineQueue: false,
      redisOptions: { ...redis.options.redisOptions, ...clusterNodeOptions(requestPath) },
    });
  }
  return redis.duplicate(requestPath);
}

/**
 * Resolves once `client` can take commands (it has no offline queue), or rejects after
 * `timeoutMs`, so a first publish while Redis is down fails instead of hanging.
 */
export async function whenReady(client: Client, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'end') throw new Error('the Redis connection was closed');
  let timer: NodeJS.Timeout | undefined;
  let cleanup = (): void => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error('the Redis connection ended before it was ready'));
    };
    cleanup = () => {
      client.off('ready', onReady);
      client.off('end', onEnd);
      clearTimeout(timer);
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
    timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  // A lazy connection starts here; its own rejection is reported through `ready`'s timeout or
  // the retry that follows, so it is only observed.
  if (client.status === 'wait') client.connect().catch(() => undefined);
  await ready;
}
