/**
 * The defaults of the settings a deployment's gateways and publishers must agree on: the Redis
 * prefix and shard count (where events live) and the four values a shard's meta hash holds.
 * The gateway's settings table and the publisher SDK both take them from here, so the two can
 * never default to different deployments.
 */
export const DEPLOYMENT_DEFAULTS = {
  /** Prefix of every Redis key and channel (`REDIS_PREFIX`). */
  prefix: 'ssehub',
  /** History and pub/sub shards (`REDIS_SHARDS`), 1 to `MAX_SHARDS`. */
  shards: 1,
  /** Events kept per shard for resume (`HISTORY_SIZE`). */
  historySize: 10_000,
  /** Age after which a history entry may be dropped, in ms (`HISTORY_TTL_MS`): 1 hour. */
  historyTtlMs: 3_600_000,
  /** How long an idempotency key is remembered, in ms (`IDEMPOTENCY_TTL_MS`): 5 minutes. */
  idempotencyTtlMs: 300_000,
  /** Largest event data, in UTF-8 bytes (`MAX_EVENT_BYTES`): 64 KiB. */
  maxEventBytes: 65_536,
} as const;
