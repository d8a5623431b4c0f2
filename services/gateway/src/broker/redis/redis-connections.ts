/**
 * The Redis broker's two connections (STYLE.md A9), for one Redis topology: a standalone server
 * (`REDIS_URL`) or a master found through Redis Sentinel (`REDIS_SENTINELS` +
 * `REDIS_SENTINEL_NAME`). The role options are the same whatever the topology:
 * - commands: fail fast (no offline queue, one retry, never resend an unfulfilled command: a
 *   resent publish script would store the event twice under two ids);
 * - subscriber: SUBSCRIBE only, reconnects without limit; the relay resubscribes and backfills
 *   itself (`autoResubscribe: false`, DESIGN.md "ioredis details").
 *
 * With Sentinel, every (re)connect asks a sentinel for the current master and checks its role.
 * Each client also listens for `+switch-master` on the sentinels (ioredis `failoverDetector`):
 * after a failover that leaves the old master reachable, Sentinel only demotes it several
 * seconds later, and writes it accepted meanwhile would be thrown away when it resyncs as a
 * replica; dropping both connections as soon as the switch is announced keeps that window short.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisNode } from '../../config.js';

/** Where Redis is. */
export type RedisTopology =
  | {
      readonly kind: 'standalone';
      /** `redis://` or `rediss://` URL of one Redis server (`REDIS_URL`). */
      readonly url: string;
    }
  | {
      readonly kind: 'sentinel';
      /** Sentinel nodes to ask for the master, at least one (`REDIS_SENTINELS`). */
      readonly sentinels: readonly RedisNode[];
      /** Name of the monitored master (`REDIS_SENTINEL_NAME`). */
      readonly name: string;
    };

export interface RedisConnectionOptions {
  /** Standalone server or Sentinel-monitored master. */
  readonly topology: RedisTopology;
  /**
   * Start of each connection's `CLIENT SETNAME` (`<prefix>:gateway:cmd`, `<prefix>:gateway:sub`),
   * so operators can tell the roles apart in `CLIENT LIST`. Usually `REDIS_PREFIX`.
   * @defaultValue 'ssehub'
   */
  readonly connectionNamePrefix?: string;
  /**
   * How long a command on the commands connection may take before it fails, in ms (the
   * subscriber has no command timeout).
   * @defaultValue 2000
   */
  readonly commandTimeoutMs?: number;
}

/** The two clients, not connected yet (`lazyConnect`): call `connect()` on each. */
export interface RedisConnections {
  /** Request-path commands (publish script, history reads, registry); fails fast. */
  readonly commands: Redis;
  /** Pub/sub only; reconnects without limit. */
  readonly subscriber: Redis;
}

/** Builds the commands and subscriber clients for a topology, with the options of their roles. */
export function createRedisConnections(options: RedisConnectionOptions): RedisConnections {
  const prefix = options.connectionNamePrefix ?? 'ssehub';
  const commandOptions: RedisOptions = {
    connectionName: `${prefix}:gateway:cmd`,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs ?? 2000,
  };
  const subscriberOptions: RedisOptions = {
    connectionName: `${prefix}:gateway:sub`,
    lazyConnect: true,
    autoResubscribe: false,
    maxRetriesPerRequest: null,
  };
  const build = (roleOptions: RedisOptions): Redis => {
    const { topology } = options;
    if (topology.kind === 'standalone') return new Redis(topology.url, roleOptions);
    return new Redis({
      ...roleOptions,
      sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
      name: topology.name,
      role: 'master',
      failoverDetector: true,
    });
  };
  return { commands: build(commandOptions), subscriber: build(subscriberOptions) };
}
