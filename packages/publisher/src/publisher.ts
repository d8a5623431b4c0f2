/**
 * `createPublisher`: publishes straight to the deployment's Redis, with the same Lua scripts as
 * the gateway (SPEC.md section 8), run through `@ssehub/redis-client`.
 */
import { Cluster } from 'ioredis';
import {
  REDIS_PROTOCOL_VERSION,
  encodeEventId,
  newEpoch,
  shardOf,
  streamIdToPosition,
  type KeySpace,
} from '@ssehub/protocol';
import {
  conflictingKey,
  ensureMetaScript,
  publishScript,
  type PublishInput as ScriptInput,
  type Script,
  type ScriptCall,
} from '@ssehub/protocol/scripts';
import {
  ScriptRunner,
  groupByShard,
  isBreakerOpen,
  storeByShard,
  type Breaker,
} from '@ssehub/redis-client';
import { publisherBreaker } from './breaker.js';
import { ownConnection, whenReady, type Client } from './connection.js';
import { PublisherError } from './errors.js';
import { PublisherLifecycle } from './lifecycle.js';
import {
  DEFAULT_META,
  checkOptions,
  checkSettings,
  invalidOptions,
  type MetaSettings,
} from './options.js';
import { checkRetry, withKeys, withRetry, type RetryPolicy } from './retry.js';
import type {
  BreakerState,
  PublishInput,
  PublishOptions,
  Publisher,
  PublisherOptions,
} from './types.js';
import { checkSize, prepareEvent, type PreparedEvent } from './validate.js';

/** What the publisher knows of one shard's meta hash. */
interface ShardMeta {
  readonly epoch: string;
  readonly maxEventBytes: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && /timed out/i.test(err.message);
}

class RedisPublisher implements Publisher {
  readonly #keys: KeySpace;
  readonly #client: Client;
  readonly #commandTimeoutMs: number;
  readonly #sharded: boolean;
  readonly #breaker: Breaker<[string, ScriptCall], unknown>;
  readonly #meta: (ShardMeta | undefined)[];
  readonly #life = new PublisherLifecycle();
  readonly #retry: RetryPolicy;
  /** What this publisher may create a missing meta hash with; undefined: wait for a gateway. */
  readonly #settings: MetaSettings | undefined;
  #ready: Promise<void> | undefined;

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
    const runner = new ScriptRunner(this.#client);
    this.#breaker = publisherBreaker(
      (source: string, call: ScriptCall) => runner.evaluate(source, call),
      { name: 'ssehub-publisher', breaker: options.breaker, onStateChange: options.onStateChange },
    );
    // Publishes are accepted again as soon as Redis is healthy (SPEC 9), not after resetTimeoutMs:
    // the connection's `ready` (the Cluster's own, on Cluster) closes the circuit.
    this.#client.on('ready', () => {
      this.#breaker.onHealthy();
    });
  }

  get state(): BreakerState {
    return this.#breaker.state;
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
    return this.#life.close(() => this.#shutdown());
  }

  /** Runs once, after the publishes in flight settled. */
  async #shutdown(): Promise<void> {
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
    this.#life.checkOpen(what);
    // JavaScript callers can pass anything; the type says an array.
    const given: unknown = events;
    if (!Array.isArray(given)) {
      throw invalidOptions(`${what} takes an array of { topic, data, event?, idempotencyKey? }.`);
    }
    // Validate the whole batch before any I/O.
    const prepared = events.map((e, i) =>
      prepareEvent(e, events.length === 1 && what === 'publish()' ? what : `${what} event ${i}`),
    );
    const byShard = groupByShard(prepared, (e) => shardOf(e.topic, this.#keys.shardCount));
    // The size limit is the deployment's: known after the first publish, checked before any
    // I/O from then on.
    this.#checkSizes(prepared, byShard);
    if (prepared.length === 0) return [];
    return this.#life.track(this.#store(prepared, byShard));
  }

  async #store(
    prepared: readonly PreparedEvent[],
    byShard: ReadonlyMap<number, number[]>,
  ): Promise<string[]> {
    await this.#ensureReady();
    this.#checkSizes(prepared, byShard);
    const outcome = await storeByShard(prepared, byShard, async (shard, events) => ({
      ids: await this.#publishShard(shard, events),
    }));
    if (outcome.ok) return outcome.ids;
    const first = outcome.failure;
    const error =
      first instanceof PublisherError
        ? first
        : new PublisherError('BROKER_UNAVAILABLE', String(first), { cause: first });
    if (!outcome.partial) throw error;
    throw new PublisherError(
      error.code,
      `${error.message} Part of the batch was stored: error.ids holds the id of each stored event and null for the others; retry only those.`,
      { cause: error, ids: outcome.ids },
    );
  }

  /** Checks each event's size against its shard's `maxEventBytes`, where it is known yet. */
  #checkSizes(prepared: readonly PreparedEvent[], byShard: ReadonlyMap<number, number[]>): void {
    for (const [shard, indexes] of byShard) {
      const meta = this.#meta[shard];
      if (meta !== undefined) {
        for (const i of indexes) checkSize(prepared[i] as PreparedEvent, meta.maxEventBytes);
      }
    }
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
      if (left <= 0 || this.#life.closed) {
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

  /** One ensure-meta call: the shard's meta, or undefined when it is missing and not created. */
  async #readOrCreateMeta(shard: number): Promise<ShardMeta | undefined> {
    const reply = await this.#run(ensureMetaScript, {
      keys: this.#keys,
      shard,
      candidateEpoch: newEpoch(),
      // A publisher never overwrites the deployment's settings.
      apply: false,
      settings: this.#settings ?? DEFAULT_META,
      knownEpoch: this.#meta[shard]?.epoch,
      // Only with settings of its own (SPEC 9, "whoever writes first" knows them).
      create: this.#settings !== undefined,
    });
    if (reply.kind === 'nometa') return undefined;
    if (reply.kind === 'mismatch') {
      const { stored } = reply;
      const message =
        reply.field === 'shards'
          ? `This deployment's Redis (prefix "${this.#keys.prefix}") has REDIS_SHARDS = ${stored}, but the publisher was created with shards: ${this.#keys.shardCount}. Pass shards: ${stored} (the count is fixed for the life of a deployment), or check the prefix.`
          : `This deployment's Redis (prefix "${this.#keys.prefix}") uses ssehub protocol version ${stored}, but this @ssehub/publisher speaks version ${REDIS_PROTOCOL_VERSION}. Install the @ssehub/publisher release that matches the gateway.`;
      throw new PublisherError('CONFIG_MISMATCH', message);
    }
    const meta: ShardMeta = {
      epoch: reply.epoch ?? '',
      maxEventBytes: Number(reply.maxEventBytes ?? DEFAULT_META.maxEventBytes),
    };
    this.#meta[shard] = meta;
    return meta;
  }

  async #publishShard(shard: number, events: readonly PreparedEvent[]): Promise<string[]> {
    const input: ScriptInput = { keys: this.#keys, shard, sharded: this.#sharded, events };
    let reply = await this.#run(publishScript, input);
    if (reply.kind === 'nometa') {
      // Redis lost its data (restart without persistence): a new epoch (made by a gateway, or
      // by this publisher when it has settings), recording the old one so its ids read as
      // history_lost, then once more.
      await this.#ensureMeta(shard);
      reply = await this.#run(publishScript, input);
    }
    if (reply.kind === 'conflict') {
      throw new PublisherError(
        'IDEMPOTENCY_CONFLICT',
        `Idempotency key "${conflictingKey(input, reply.key) ?? reply.key}" was already used for an event with another topic, event name or data. Reuse a key only to retry the very same event; use a new key for a new event.`,
      );
    }
    if (reply.kind === 'nometa') {
      throw new PublisherError(
        'BROKER_UNAVAILABLE',
        'The deployment metadata is missing in Redis; retry shortly.',
      );
    }
    const { epoch } = reply;
    return reply.streamIds.map((sid) =>
      encodeEventId([{ epoch, shard, position: streamIdToPosition(sid) }]),
    );
  }

  /**
   * One script call through the breaker, its reply checked; maps failures (a malformed reply
   * too) to PublisherError.
   */
  async #run<TInput, TReply>(script: Script<TInput, TReply>, input: TInput): Promise<TReply> {
    try {
      return script.parse(await this.#breaker.fire(script.source, script.call(input)));
    } catch (err) {
      if (isBreakerOpen(err)) {
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
