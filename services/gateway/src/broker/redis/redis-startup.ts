/**
 * Reaching Redis at start (docs/redis.md, "When Redis has trouble"): a gateway started before
 * Redis keeps trying with backoff, logs the address and the cause at most once per window, and
 * is done the first time it gets there; a Redis that cannot serve this deployment (too old, or
 * holding other fixed settings) stops the start-up for good with a {@link DeploymentMismatchError}.
 */
import type { Logger } from 'pino';
import { BrokerClosedError, pause, whenReady } from './client-waits.js';
import { describeRedisError } from './redis-address.js';
import type { RedisClient } from './redis-connections.js';

/**
 * Redis holds a deployment made with other fixed settings (REDIS_SHARDS, protocol version): this
 * gateway must not run against it. Unlike an unreachable Redis, waiting will not help, so the
 * process exits (SPEC 9: refuses to start, naming the setting).
 */
export class DeploymentMismatchError extends Error {
  override readonly name = 'DeploymentMismatchError';
}

/** How long one start-up attempt waits for the commands connection to become ready, in ms. */
const START_ATTEMPT_MS = 5000;

/** Longest pause between start-up attempts, in ms. */
const START_MAX_BACKOFF_MS = 5000;

/** A Redis that cannot be reached at start is logged at most once per this window, in ms. */
const START_LOG_WINDOW_MS = 10_000;

/** What {@link reachRedis} needs. */
export interface ReachRedisOptions {
  /** The commands connection; its `error` events are the causes logged while retrying. */
  readonly commands: RedisClient;
  /** The topology as log lines name it (`describeTopology`). */
  readonly address: string;
  readonly log: Logger;
  /** Aborts the loop when the broker is closed; it then rejects with `BrokerClosedError`. */
  readonly signal: AbortSignal;
  /** What an attempt does once connected and the version is checked (create the meta hashes). */
  readonly prepare: () => Promise<void>;
}

/** Tries until Redis is reached and `prepare` succeeded; retries every failure but a mismatch. */
export async function reachRedis(options: ReachRedisOptions): Promise<void> {
  const { commands, address, log, signal } = options;
  let attempts = 0;
  let loggedAt = Number.NEGATIVE_INFINITY;
  const report = (err: unknown): void => {
    const now = Date.now();
    if (now - loggedAt < START_LOG_WINDOW_MS) return;
    loggedAt = now;
    const cause = describeRedisError(err);
    log.warn(
      { redis: address, cause, attempts },
      `cannot reach Redis at ${address}: ${cause}; retrying with backoff, and this replica becomes ready once it gets there`,
    );
  };
  // ioredis reports each failed connect as an `error` event (the cause) while it retries.
  commands.on('error', report);
  try {
    for (;;) {
      if (signal.aborted) throw new BrokerClosedError();
      attempts += 1;
      try {
        await whenReady(commands, START_ATTEMPT_MS, signal);
        await checkRedisVersion(commands, address);
        await options.prepare();
        if (loggedAt > Number.NEGATIVE_INFINITY) {
          log.info({ redis: address, attempts }, 'redis reached');
        }
        return;
      } catch (err) {
        if (err instanceof DeploymentMismatchError || err instanceof BrokerClosedError) throw err;
        report(err);
        await pause(Math.min(START_MAX_BACKOFF_MS, 100 * 2 ** Math.min(attempts, 6)), signal);
      }
    }
  } finally {
    commands.off('error', report);
  }
}

/** SPEC 9: Redis 7.0 or later (sharded pub/sub, XINFO fields the scripts read). */
export async function checkRedisVersion(commands: RedisClient, address: string): Promise<void> {
  const info = await commands.info('server');
  const version = /^redis_version:(\S+)/m.exec(info)?.[1];
  const major = Number(version?.split('.')[0]);
  if (version !== undefined && Number.isFinite(major) && major < 7) {
    throw new DeploymentMismatchError(
      `Redis at ${address} is version ${version}; ssehub needs Redis 7.0 or later (sharded pub/sub, stream fields its scripts read). Upgrade Redis or point REDIS_URL at a newer server.`,
    );
  }
}
