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
 *
 * With Redis Cluster (`REDIS_CLUSTER_NODES`), both clients are ioredis `Cluster`s built from the
 * seed nodes with the same role options for each node connection; the subscriber one uses
 * sharded pub/sub (`shardedSubscribers: true`: one SSUBSCRIBE connection per master that owns
 * subscribed channels), so an event only passes through the node that owns its shard.
 */
import { clusterNodeOptions, requestPathOptions } from '@ssehub/redis-client';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { BrokerConfig } from '../../config/index.js';

/**
 * Where Redis is: the Redis kinds of the broker the settings select (`brokerOf`), so the
 * topology has one definition.
 */
export type RedisTopology = Exclude<BrokerConfig, { readonly kind: 'embedded' }>;

/** A client of either kind: one server (standalone, Sentinel) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

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
   * commands connection carries the request path; the subscriber has its own, below).
   * @defaultValue 2000
   */
  readonly commandTimeoutMs?: number;
  /**
   * How long a command on the subscriber connection (SUBSCRIBE, the liveness and sync PINGs) may
   * take before it fails, in ms. Longer than a `DEBUG SLEEP` or a slow AOF rewrite pause should
   * be, short enough that a black-holed path is noticed within seconds.
   * @defaultValue 3000
   */
  readonly subscriberCommandTimeoutMs?: number;
}

/** The two clients, not connected yet (`lazyConnect`): call `connect()` on each. */
export interface RedisConnections {
  /** Request-path commands (publish script, history reads, registry); fails fast. */
  readonly commands: RedisClient;
  /** Pub/sub only (sharded pub/sub on Cluster); reconnects without limit. */
  readonly subscriber: RedisClient;
  /** True on Redis Cluster: publish with SPUBLISH, subscribe with SSUBSCRIBE. */
  readonly sharded: boolean;
}

/** Builds the commands and subscriber clients for a topology, with the options of their roles. */
export function createRedisConnections(options: RedisConnectionOptions): RedisConnections {
  const prefix = options.connectionNamePrefix ?? 'ssehub';
  const commandOptions: RedisOptions = {
    connectionName: `${prefix}:gateway:cmd`,
    lazyConnect: true,
    ...requestPathOptions(options.commandTimeoutMs ?? 2000),
  };
  // The relay's state machine (relay.ts) owns recovery, so nothing on this connection may
  // outlive a cut: no offline queue (a command while down fails at once), no resend of
  // unanswered commands after a reconnect (a PING sent before a cut must not answer after it:
  // it would pass for a sync point), pending commands rejected on the cut (maxRetriesPerRequest
  // 0), and a timeout on each, so a black-holed path fails SUBSCRIBE and the liveness PING.
  const subscriberOptions: RedisOptions = {
    connectionName: `${prefix}:gateway:sub`,
    lazyConnect: true,
    autoResubscribe: false,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.subscriberCommandTimeoutMs ?? 3000,
  };
  const { topology } = options;
  if (topology.kind === 'cluster') {
    const nodes = topology.nodes.map(({ host, port }) => ({ host, port }));
    // `Cluster` takes per-node options in `redisOptions`, minus those it manages itself.
    const commands = new Cluster(nodes, {
      redisOptions: clusterNodeOptions(commandOptions),
      lazyConnect: true,
      enableOfflineQueue: false,
    });
    const subscriber = new Cluster(nodes, {
      redisOptions: clusterNodeOptions(subscriberOptions),
      lazyConnect: true,
      shardedSubscribers: true,
      // Keep trying to reach the cluster, like the standalone subscriber.
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
    });
    return { commands, subscriber, sharded: true };
  }
  const build = (roleOptions: RedisOptions): Redis => {
    if (topology.kind === 'standalone') return new Redis(topology.url, roleOptions);
    return new Redis({
      ...roleOptions,
      sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
      name: topology.name,
      role: 'master',
      failoverDetector: true,
    });
  };
  return {
    commands: build(commandOptions),
    subscriber: build(subscriberOptions),
    sharded: false,
  };
}
