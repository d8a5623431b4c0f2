import { createHash } from 'node:crypto';
import type CircuitBreaker from 'opossum';
import { closeWhenHealthy, createBreaker, stateOf } from './breaker.js';
import { Cluster, Redis } from 'ioredis';
import {
  ENSURE_META_SCRIPT,
  MAX_SHARDS,
  PUBLISH_SCRIPT,
  REDIS_PROTOCOL_VERSION,
  encodeEventId,
  idempotencyKey,
  metaKey,
  newEpoch,
  shardOf,
  shardTag,
  streamIdToPosition,
  streamKey,
  validatePrefix,
  type KeySpace,
} from '@ssehub/protocol';
import { PublisherError } from './errors.js';
import { checkRetry, withKeys, withRetry, type RetryOptions, type RetryPolicy } from './retry.js';
import { checkSize, prepareEvent, type PreparedEvent } from './validate.js';

/** State of the circuit breaker around the publish script. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * The gateway's defaults for the settings a shard's meta hash holds (SPEC.md section 9). A
 * publisher created with {@link PublisherOptions.settings} fills the settings it leaves out with
 * these; a publisher without `settings` never writes them (it waits for a gateway instead).
 */
export const DEFAULT_META = {
  historySize: 10_000,
  historyTtlMs: 3_600_000,
  idempotencyTtlMs: 300_000,
  maxEventBytes: 65_536,
} as const;

/** Circuit breaker settings (opossum). */
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

type Client = Redis | Cluster;

/** What the publisher knows of one shard's meta hash. */
interface ShardMeta {
  readonly epoch: string;
  readonly maxEventBytes: number;
}

function invalidOptions(message: string): PublisherError {
  return new PublisherError('INVALID_OPTIONS', message);
}

/** The four settings of a meta hash, all given. */
type MetaSettings = { readonly [K in keyof DeploymentSettings]-?: number };

/** `settings` filled with {@link DEFAULT_META}, or undefined when the caller gave none. */
function checkSettings(settings: DeploymentSettings | undefined): MetaSettings | undefined {
  if (settings === undefined) return undefined;
  // Lower bounds as the gateway's configuration has them (HISTORY_SIZE 0 turns history off).
  const lowest: MetaSettings = {
    historySize: 0,
    historyTtlMs: 1,
    idempotencyTtlMs: 1,
    maxEventBytes: 1,
  };
  const filled = { ...DEFAULT_META, ...settings };
  for (const key of Object.keys(lowest) as (keyof MetaSettings)[]) {
    const value = filled[key];
    if (!Number.isSafeInteger(value) || value < lowest[key]) {
      throw invalidOptions(
        `settings.${key} is ${String(value)}; pass the deployment's value, an integer of at least ${lowest[key]}.`,
      );
    }
  }
  return filled;
}

function checkOptions(options: PublisherOptions): { prefix: string; shards: number } {
  const prefix = options.prefix ?? 'ssehub';
  try {
    validatePrefix(prefix);
  } catch (err) {
    throw new PublisherError(
      'INVALID_OPTIONS',
      `prefix: ${err instanceof Error ? err.message : String(err)} It must equal the deployment's REDIS_PREFIX.`,
      { cause: err },
    );
  }
  const shards = options.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw invalidOptions(
      `shards is ${String(shards)}; pass the deployment's REDIS_SHARDS, an integer from 1 to ${MAX_SHARDS}.`,
    );
  }
  const timeout = options.commandTimeoutMs;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout <= 0)) {
    throw invalidOptions(`commandTimeoutMs is ${String(timeout)}; pass a positive integer.`);
  }
  return { prefix, shards };
}

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
function ownConnection(redis: PublisherOptions['redis'], commandTimeout: number): Client {
  const requestPath = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    commandTimeout,
  } as const;
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
    const { enableOfflineQueue: _queue, ...redisOptions } = requestPath;
    // duplicate() merges these into the cluster's own options and redisOptions.
    return redis.duplicate(undefined, {
      enableOfflineQueue: false,
      redisOptions: { ...redis.options.redisOptions, ...redisOptions },
    });
  }
  return redis.duplicate(requestPath);
}

/**
 * Resolves once `client` can take commands (it has no offline queue), or rejects after
 * `timeoutMs`, so a first publish while Redis is down fails instead of hanging.
 */
async function whenReady(client: Client, timeoutMs: number): Promise<void> {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && /timed out/i.test(err.message);
}

function isOpenError(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === 'EOPENBREAKER';
}

class RedisPublisher implements Publisher {
  readonly #keys: KeySpace;
  readonly #client: Client;
  readonly #commandTimeoutMs: number;
  readonly #sharded: boolean;
  readonly #breaker: CircuitBreaker<[string, readonly string[], readonly string[]]>;
  readonly #shas = new Map<string, string>();
  readonly #meta: (ShardMeta | undefined)[];
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #retry: RetryPolicy;
  /** What this publisher may create a missing meta hash with; undefined: wait for a gateway. */
  readonly #settings: MetaSettings | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: PublisherOptions) {
    const { prefix, shards } = checkOptions(options);
    this.#keys = { prefix, shardCount: shards };
    this.#meta = new Array<ShardMeta | undefined>(shards).fill(undefined);
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 5000;
    this.#retry = checkRetry(options.retry);
    this.#settings = checkSettings(options.settings);
    this.#client = ownConnection(options.redis, this.#commandTimeoutMs);
    this.#sharded = this.#client instanceof Cluster;
    // Errors surface as rejected commands; the listener keeps Node from treating them as
    // unhandled 'error' events while Redis is down.
    this.#client.on('error', () => undefined);
    this.#breaker = createBreaker(
      (source: string, keys: readonly string[], args: readonly string[]) =>
        this.#evaluate(source, keys, args),
      { name: 'ssehub-publisher', breaker: options.breaker, onStateChange: options.onStateChange },
    );
    // Publishes are accepted again as soon as Redis is healthy (SPEC 9), not after resetTimeoutMs:
    // the connection's `ready` (the Cluster's own, on Cluster) closes the circuit.
    this.#client.on('ready', () => {
      closeWhenHealthy(this.#breaker);
    });
  }

  get state(): BreakerState {
    return stateOf(this.#breaker);
  }

  async publish(topic: string, data: unknown, options: PublishOptions = {}): Promise<string> {
    const [event] = withKeys(this.#retry, [{ ...options, topic, data }]);
    const ids = await withRetry(this.#retry, () =>
      this.#publishBatch(event === undefined ? [] : [event], 'publish()'),
    );
    const [id] = ids;
    if (id === undefined) throw new Error('the publish script returned no id');
    return id;
  }

  async publishMany(events: readonly PublishInput[]): Promise<string[]> {
    // JavaScript callers can pass anything; #publishBatch reports a non-array.
    const given: unknown = events;
    const keyed = Array.isArray(given) ? withKeys(this.#retry, events) : events;
    return withRetry(this.#retry, () => this.#publishBatch(keyed, 'publishMany()'));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
    this.#breaker.shutdown();
    if (this.#client.status !== 'ready') {
      // Never connected, or Redis is down: nothing to flush, and QUIT would wait for a reconnect.
      this.#client.disconnect();
      return;
    }
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }

  async #publishBatch(events: readonly PublishInput[], what: string): Promise<string[]> {
    if (this.#closed) {
      throw new PublisherError(
        'CLOSED',
        `${what} called after close(). Create a new publisher, or keep one per process and close it on shutdown only.`,
      );
    }
    // JavaScript callers can pass anything; the type says an array.
    const given: unknown = events;
    if (!Array.isArray(given)) {
      throw invalidOptions(`${what} takes an array of { topic, data, event?, idempotencyKey? }.`);
    }
    // Validate the whole batch before any I/O.
    const prepared = events.map((e, i) =>
      prepareEvent(e, events.length === 1 && what === 'publish()' ? what : `${what} event ${i}`),
    );
    const byShard = new Map<number, number[]>();
    for (const [index, e] of prepared.entries()) {
      const shard = shardOf(e.topic, this.#keys.shardCount);
      const list = byShard.get(shard) ?? [];
      list.push(index);
      byShard.set(shard, list);
    }
    // The size limit is the deployment's: known after the first publish, checked before any
    // I/O from then on.
    for (const [shard, indexes] of byShard) {
      const meta = this.#meta[shard];
      if (meta !== undefined) {
        for (const i of indexes) checkSize(prepared[i] as PreparedEvent, meta.maxEventBytes);
      }
    }
    if (prepared.length === 0) return [];
    const work = this.#store(prepared, byShard);
    this.#inFlight.add(work);
    try {
      return await work;
    } finally {
      this.#inFlight.delete(work);
    }
  }

  async #store(
    prepared: readonly PreparedEvent[],
    byShard: ReadonlyMap<number, number[]>,
  ): Promise<string[]> {
    await this.#ensureReady();
    for (const [shard, indexes] of byShard) {
      const meta = this.#meta[shard];
      if (meta !== undefined) {
        for (const i of indexes) checkSize(prepared[i] as PreparedEvent, meta.maxEventBytes);
      }
    }
    const ids = new Array<string | null>(prepared.length).fill(null);
    const failures: unknown[] = [];
    await Promise.all(
      [...byShard].map(async ([shard, indexes]) => {
        try {
          const shardIds = await this.#publishShard(
            shard,
            indexes.map((i) => prepared[i] as PreparedEvent),
          );
          for (const [k, index] of indexes.entries()) ids[index] = shardIds[k] ?? null;
        } catch (err) {
          failures.push(err);
        }
      }),
    );
    if (failures.length === 0) return ids.map((id) => id ?? '');
    const first = failures[0];
    const error =
      first instanceof PublisherError
        ? first
        : new PublisherError('BROKER_UNAVAILABLE', String(first), { cause: first });
    if (!ids.some((id) => id !== null)) throw error;
    throw new PublisherError(
      error.code,
      `${error.message} Part of the batch was stored: error.ids holds the id of each stored event and null for the others; retry only those.`,
      { cause: error, ids },
    );
  }

  /** Connects and reads (or creates) every shard's meta hash, once. */
  async #ensureReady(): Promise<void> {
    this.#ready ??= (async () => {
      try {
        await whenReady(this.#client, this.#commandTimeoutMs);
      } catch (err) {
        throw new PublisherError(
          'BROKER_UNAVAILABLE',
          `Could not connect to Redis (${err instanceof Error ? err.message : String(err)}); nothing was stored. Check the redis option (URL or client) and that Redis is up, then retry.`,
          { cause: err },
        );
      }
      for (let shard = 0; shard < this.#keys.shardCount; shard++) await this.#ensureMeta(shard);
    })();
    try {
      await this.#ready;
    } catch (err) {
      // Let the next publish try again (Redis may be back by then).
      this.#ready = undefined;
      throw err;
    }
  }

  /**
   * Reads a shard's meta hash, creating it only when this publisher has settings of its own.
   * Without them a missing hash is waited for (a gateway creates it with the deployment's
   * values), with backoff, for up to `commandTimeoutMs` in all; then `NOT_INITIALIZED`.
   */
  async #ensureMeta(shard: number): Promise<ShardMeta> {
    const deadline = Date.now() + this.#commandTimeoutMs;
    let delayMs = 50;
    for (;;) {
      const meta = await this.#readOrCreateMeta(shard);
      if (meta !== undefined) return meta;
      const left = deadline - Date.now();
      if (left <= 0 || this.#closed) {
        throw new PublisherError(
          'NOT_INITIALIZED',
          `No gateway has initialised this deployment's Redis (prefix "${this.#keys.prefix}"): shard ${shard} has no meta hash, and this publisher has no settings of its own to create it with (waited ${this.#commandTimeoutMs} ms). Nothing was stored. Start a gateway on this Redis with the same REDIS_PREFIX (a running one recreates the hash within its next publish or HEARTBEAT_MS), or pass the deployment's settings to createPublisher({ settings: { historySize, historyTtlMs, idempotencyTtlMs, maxEventBytes } }).`,
        );
      }
      // Full jitter: publishers waiting together do not poll Redis in step.
      await sleep(Math.min(left, Math.random() * delayMs));
      delayMs = Math.min(delayMs * 2, 1000);
    }
  }

  /** One ENSURE_META call: the shard's meta, or undefined when it is missing and not created. */
  async #readOrCreateMeta(shard: number): Promise<ShardMeta | undefined> {
    const settings = this.#settings ?? DEFAULT_META;
    const reply = await this.#run<string[]>(
      ENSURE_META_SCRIPT,
      [metaKey(this.#keys, shard)],
      [
        REDIS_PROTOCOL_VERSION,
        String(this.#keys.shardCount),
        newEpoch(),
        // apply 0: a publisher never overwrites the deployment's settings.
        '0',
        String(settings.historySize),
        String(settings.historyTtlMs),
        String(settings.idempotencyTtlMs),
        String(settings.maxEventBytes),
        this.#meta[shard]?.epoch ?? '',
        // create: only with settings of its own (SPEC 9, "whoever writes first" knows them).
        this.#settings === undefined ? '0' : '1',
      ],
    );
    if (reply[0] === 'nometa') return undefined;
    if (reply[0] === 'mismatch') {
      const field = reply[1];
      const stored = reply[2] ?? '?';
      const message =
        field === 'shards'
          ? `This deployment's Redis (prefix "${this.#keys.prefix}") has REDIS_SHARDS = ${stored}, but the publisher was created with shards: ${this.#keys.shardCount}. Pass shards: ${stored} (the count is fixed for the life of a deployment), or check the prefix.`
          : `This deployment's Redis (prefix "${this.#keys.prefix}") uses ssehub protocol version ${stored}, but this @ssehub/publisher speaks version ${REDIS_PROTOCOL_VERSION}. Install the @ssehub/publisher release that matches the gateway.`;
      throw new PublisherError('CONFIG_MISMATCH', message);
    }
    const meta: ShardMeta = {
      epoch: reply[1] ?? '',
      maxEventBytes: Number(reply[5] ?? DEFAULT_META.maxEventBytes),
    };
    this.#meta[shard] = meta;
    return meta;
  }

  async #publishShard(shard: number, events: readonly PreparedEvent[]): Promise<string[]> {
    const keys = [metaKey(this.#keys, shard), streamKey(this.#keys, shard)];
    const args = [
      `${this.#keys.prefix}:${shardTag(this.#keys, shard)}:`,
      this.#sharded ? 'SPUBLISH' : 'PUBLISH',
      String(events.length),
    ];
    for (const e of events) {
      if (e.idempotencyKey !== undefined) {
        keys.push(idempotencyKey(this.#keys, shard, e.idempotencyKey));
      }
      args.push(e.topic, e.event, e.data, e.idempotencyKey === undefined ? '' : '1');
    }
    let reply = await this.#run<unknown[]>(PUBLISH_SCRIPT, keys, args);
    if (reply[0] === 'nometa') {
      // Redis lost its data (restart without persistence): a new epoch (made by a gateway, or
      // by this publisher when it has settings), recording the old one so its ids read as
      // history_lost, then once more.
      await this.#ensureMeta(shard);
      reply = await this.#run<unknown[]>(PUBLISH_SCRIPT, keys, args);
    }
    if (reply[0] === 'conflict') {
      const redisKey = reply[1];
      const given = events.find(
        (e) =>
          e.idempotencyKey !== undefined &&
          idempotencyKey(this.#keys, shard, e.idempotencyKey) === redisKey,
      );
      throw new PublisherError(
        'IDEMPOTENCY_CONFLICT',
        `Idempotency key "${given?.idempotencyKey ?? String(redisKey)}" was already used for an event with another topic, event name or data. Reuse a key only to retry the very same event; use a new key for a new event.`,
      );
    }
    if (reply[0] === 'nometa') {
      throw new PublisherError(
        'BROKER_UNAVAILABLE',
        'The deployment metadata is missing in Redis; retry shortly.',
      );
    }
    const [epoch, , ...streamIds] = reply as [string, number, ...string[]];
    return streamIds.map((sid) =>
      encodeEventId([{ epoch, shard, position: streamIdToPosition(sid) }]),
    );
  }

  /** One script call through the breaker; maps failures to PublisherError. */
  async #run<T>(source: string, keys: readonly string[], args: readonly string[]): Promise<T> {
    try {
      return (await this.#breaker.fire(source, keys, args)) as T;
    } catch (err) {
      if (isOpenError(err)) {
        throw new PublisherError(
          'BROKER_UNAVAILABLE',
          'Redis is failing, so the circuit breaker is open and publishes fail fast; nothing was stored. Retry after a few seconds.',
          { cause: err },
        );
      }
      if (isTimeout(err)) {
        throw new PublisherError(
          'TIMEOUT',
          'Redis did not answer in time, so the outcome is unknown. Retry with the same idempotency key; without one, the retry may store the event twice.',
          { cause: err },
        );
      }
      throw new PublisherError(
        'BROKER_UNAVAILABLE',
        `Redis is unavailable (${err instanceof Error ? err.message : String(err)}); nothing was stored. Retry shortly.`,
        { cause: err },
      );
    }
  }

  /** EVALSHA, loading the script on NOSCRIPT (a restarted Redis forgot it). */
  async #evaluate(
    source: string,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    let sha = this.#shas.get(source);
    if (sha === undefined) {
      sha = createHash('sha1').update(source).digest('hex');
      this.#shas.set(source, sha);
    }
    try {
      return await this.#client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.#client.eval(source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * Creates a publisher that writes straight to the deployment's Redis, the way the gateway does
 * (SPEC.md section 8). Nothing is sent until the first publish, which connects and reads each
 * shard's meta hash. A missing hash (a fresh or flushed Redis) is created only by a publisher
 * with {@link PublisherOptions.settings}; without them the publish waits up to
 * `commandTimeoutMs` for a gateway to create it, then rejects with `NOT_INITIALIZED`.
 *
 * @example
 * ```ts
 * const publisher = createPublisher({ redis: process.env.REDIS_URL ?? 'redis://localhost:6379' });
 * const id = await publisher.publish('orders/42', { status: 'shipped' }, { event: 'status' });
 * ```
 * @throws {@link PublisherError} `INVALID_OPTIONS` for a bad prefix, shard count or `retry`, or a
 *   client with `keyPrefix`.
 */
export function createPublisher(options: PublisherOptions): Publisher {
  return new RedisPublisher(options);
}
