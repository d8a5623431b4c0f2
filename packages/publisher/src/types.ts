/**
 * The public option and result types of both publishers (`createPublisher`,
 * `createHttpPublisher`), in a module of their own so the implementations and their helpers
 * import them without importing each other.
 */
import type { Cluster, Redis } from 'ioredis';
import type { BreakerState } from '@ssehub/redis-client';
import type { RetryOptions } from './retry.js';

/** State of the circuit breaker around the publish script. */
export type { BreakerState } from '@ssehub/redis-client';

/** Circuit breaker settings (opossum, through `@ssehub/redis-client`). */
export interface PublisherBreakerOptions {
  /**
   * Failure percentage over the rolling window (10 s) that opens the circuit.
   * @defaultValue 50
   */
  readonly errorThresholdPercentage?: number;
  /**
   * How long the circuit stays open before one trial publish, in milliseconds.
   * @defaultValue 5000
   */
  readonly resetTimeoutMs?: number;
  /**
   * Calls in the window before the percentage counts, so a single failure opens nothing.
   * @defaultValue 10
   */
  readonly volumeThreshold?: number;
}

/**
 * The deployment's settings, as its gateways are configured (SPEC.md section 9). Written to a
 * shard's meta hash only when this publisher is the first writer of a fresh (or flushed)
 * Redis; never over a hash that exists, whose values always win.
 */
export interface DeploymentSettings {
  /** Events kept per shard, about (`HISTORY_SIZE`). @defaultValue 10000 */
  readonly historySize?: number;
  /** Age limit of history, in milliseconds (`HISTORY_TTL_MS`). @defaultValue 3600000 */
  readonly historyTtlMs?: number;
  /** How long an idempotency key is remembered, in milliseconds (`IDEMPOTENCY_TTL_MS`). @defaultValue 300000 */
  readonly idempotencyTtlMs?: number;
  /** Largest event data, in UTF-8 bytes (`MAX_EVENT_BYTES`). @defaultValue 65536 */
  readonly maxEventBytes?: number;
}

/** Options of {@link createPublisher}. */
export interface PublisherOptions {
  /**
   * Where the deployment's Redis is: a `redis://` / `rediss://` URL, an ioredis `Redis` client or
   * an ioredis `Cluster`. A client is never used directly: the publisher publishes on its own
   * connection made with `duplicate()` (no offline queue, one retry, no resend of unanswered
   * commands, since a resent publish script would store the event twice), and `close()` never
   * closes the client you passed. A client with `keyPrefix` is refused: it would rewrite the
   * script's keys; use {@link PublisherOptions.prefix} instead.
   */
  readonly redis: string | Redis | Cluster;
  /**
   * The deployment's `REDIS_PREFIX`: 1 to 64 characters from `A-Z a-z 0-9 _ - .`.
   * @defaultValue `'ssehub'`
   */
  readonly prefix?: string;
  /**
   * The deployment's `REDIS_SHARDS`, 1 to 16. Must equal the value stored in Redis; a publisher
   * with another count refuses to publish (`CONFIG_MISMATCH`).
   * @defaultValue 1
   */
  readonly shards?: number;
  /**
   * How long one Redis command may take, in milliseconds, before the publish rejects with
   * `TIMEOUT` (outcome unknown: retry with the same idempotency key). Also how long a publisher
   * without {@link PublisherOptions.settings} waits for a gateway to create a missing meta hash.
   * @defaultValue 5000
   */
  readonly commandTimeoutMs?: number;
  /**
   * The deployment's settings (`HISTORY_SIZE`, `HISTORY_TTL_MS`, `IDEMPOTENCY_TTL_MS`,
   * `MAX_EVENT_BYTES`), for a publisher that may initialise the deployment's Redis itself:
   * when a shard's meta hash is missing (a fresh Redis, or one that lost its data), it creates
   * it with these, each left out taken from {@link DEFAULT_META}. A hash that exists is never
   * changed. Without this option, a publisher never invents the deployment's settings: finding
   * no meta hash, it retries with backoff for up to `commandTimeoutMs` while a gateway creates
   * it (a gateway does on start, and a running one within its next publish or `HEARTBEAT_MS`),
   * then rejects with `NOT_INITIALIZED`; nothing is stored.
   * @defaultValue none: wait for a gateway
   */
  readonly settings?: DeploymentSettings;
  /**
   * Circuit breaker settings.
   * @defaultValue `{ errorThresholdPercentage: 50, resetTimeoutMs: 5000, volumeThreshold: 10 }`
   */
  readonly breaker?: PublisherBreakerOptions;
  /**
   * Called on every change of {@link Publisher.state}, for logs and metrics. An exception
   * thrown here is ignored.
   * @defaultValue none
   */
  readonly onStateChange?: (state: BreakerState) => void;
  /**
   * Retries after `BROKER_UNAVAILABLE` or `TIMEOUT` (never after another code, nor while the
   * circuit breaker is open), with exponential backoff and full jitter. With retries on, an event
   * without an idempotency key gets a generated one (a UUID), so a retried publish is stored once.
   * The deployment's `IDEMPOTENCY_TTL_MS` (default 300000) must exceed the retry window;
   * `attempts × maxDelayMs` of 300000 or more is refused with `INVALID_OPTIONS`.
   * @defaultValue `{ attempts: 0, baseDelayMs: 100, maxDelayMs: 2000 }`: no retries
   */
  readonly retry?: RetryOptions;
}

/** Options of one {@link Publisher.publish}. */
export interface PublishOptions {
  /**
   * SSE event name (`event:` field): 1 to 64 characters from `A-Z a-z 0-9 _ . : -`, not
   * starting with `ssehub.`, and neither `error` nor `open`.
   * @defaultValue none: browsers see a `message` event
   */
  readonly event?: string;
  /**
   * Makes retries safe: a repeat within the deployment's `IDEMPOTENCY_TTL_MS` (default 5 min)
   * resolves to the first id and stores nothing; a repeat with other content rejects with
   * `IDEMPOTENCY_CONFLICT`. 1 to 256 printable ASCII characters, scoped to the topic's shard.
   * @defaultValue none
   */
  readonly idempotencyKey?: string;
}

/** One event of {@link Publisher.publishMany}. */
export interface PublishInput extends PublishOptions {
  /** Topic (SPEC.md section 2); a leading `/` is dropped. */
  readonly topic: string;
  /** A string, sent verbatim, or any JSON value, sent as its JSON text (serialized once). */
  readonly data: unknown;
}

/** A publisher of one ssehub deployment. Keep one per process. */
export interface Publisher {
  /**
   * Publishes one event and resolves to its id (the SSE `id:` the subscribers see) once Redis
   * has stored it. Validation errors reject before any I/O.
   *
   * @param topic - Topic (SPEC.md section 2); a leading `/` is dropped.
   * @param data - A string, sent verbatim, or any JSON value, sent as its JSON text.
   * @throws {@link PublisherError}
   */
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<string>;
  /**
   * Publishes a batch: one script, so one round trip, per shard; all or nothing within a
   * shard. Resolves to the ids in input order. The batch is validated whole before any I/O. When
   * it spans shards and one shard failed after another stored its events, rejects with a
   * {@link PublisherError} whose `ids` holds the stored ids and `null` for the others.
   *
   * @throws {@link PublisherError}
   */
  publishMany(events: readonly PublishInput[]): Promise<string[]>;
  /** State of the circuit breaker around the publish script. */
  readonly state: BreakerState;
  /**
   * Waits for publishes in flight, then closes the publisher's own Redis connection (never a
   * client you passed). Later publishes reject with `CLOSED`. Safe to call twice.
   */
  close(): Promise<void>;
}
