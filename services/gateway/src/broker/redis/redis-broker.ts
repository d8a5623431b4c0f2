/**
 * The Redis broker (SPEC 9, DESIGN.md): every replica relays through Redis pub/sub and keeps
 * history in one Redis Stream per shard, written by one atomic Lua script per publish. Two
 * connections with options that match their roles (STYLE.md A9):
 * - commands: fail fast (no offline queue, one retry, never resend an unfulfilled command: a
 *   resent publish script would store the event twice under two ids);
 * - subscriber: SUBSCRIBE only, reconnects without limit, resubscribes and backfills itself.
 *
 * This build supports standalone Redis (`REDIS_URL`), Sentinel (`REDIS_SENTINELS`) and Redis
 * Cluster (`REDIS_CLUSTER_NODES`) with any REDIS_SHARDS. On Cluster every key and channel of a
 * shard shares the shard's hash tag, so each script runs on the one node owning that slot, and
 * events go out with SPUBLISH to sharded subscribers: an event passes through one node only.
 */
import { createHash } from 'node:crypto';
import {
  BUMP_EPOCH_SCRIPT,
  ENSURE_META_SCRIPT,
  HEAD_SCRIPT,
  PUBLISH_SCRIPT,
  READ_SCRIPT,
  REDIS_PROTOCOL_VERSION,
  encodeEventId,
  idempotencyKey,
  metaKey,
  newEpoch,
  positionToStreamId,
  shardOf,
  shardTag,
  streamIdToPosition,
  streamKey,
  type Cursor,
  type KeySpace,
  type Pattern,
  type RelayedMessage,
} from '@ssehub/protocol';
import type { Logger } from 'pino';
import { GatewayError } from '../../errors.js';
import type {
  Broker,
  BrokerCounters,
  BrokerEvent,
  BrokerSink,
  HistoryPage,
  Interest,
  PublishInput,
  PublishResult,
  ReadStart,
} from '../broker.js';
import { idempotencyConflict } from '../idempotency-cache.js';
import { channelsFor } from './channel-set.js';
import { createBreaker, type Breaker } from '../../resilience/breaker.js';
import {
  createRedisConnections,
  type RedisClient,
  type RedisTopology,
} from './redis-connections.js';
import { RedisRegistry } from './redis-registry.js';
import { RelaySubscriber, isAfter } from './relay-subscriber.js';

export interface RedisBrokerOptions {
  /** Standalone server (`redis://` or `rediss://` URL), Sentinel-monitored master, or Cluster. */
  readonly topology: RedisTopology;
  /** Prefix of every key and channel (`REDIS_PREFIX`). @defaultValue 'ssehub' */
  readonly prefix: string;
  /** History shards, fixed for the life of a deployment (`REDIS_SHARDS`, 1 to 16). @defaultValue 1 */
  readonly shards: number;
  /** Events kept per shard, about (`HISTORY_SIZE`). */
  readonly historySize: number;
  /** Age limit of history, in ms (`HISTORY_TTL_MS`). */
  readonly historyTtlMs: number;
  /** How long an idempotency key is remembered, in ms (`IDEMPOTENCY_TTL_MS`). */
  readonly idempotencyTtlMs: number;
  /** Largest event data in bytes (`MAX_EVENT_BYTES`), recorded for publishers. */
  readonly maxEventBytes: number;
  readonly log: Logger;
}

/**
 * Redis holds a deployment made with other fixed settings (REDIS_SHARDS, protocol version): this
 * gateway must not run against it. Unlike an unreachable Redis, waiting will not help, so the
 * process exits (SPEC 9: refuses to start, naming the setting).
 */
export class DeploymentMismatchError extends Error {
  override readonly name = 'DeploymentMismatchError';
}

/** One stream entry: its id and the fields the publish script wrote ('' event = unnamed). */
interface StreamEntry {
  readonly id: string;
  readonly topic: string;
  readonly event: string;
  readonly data: string;
}

/** How long a request-path command may take before it counts as failed, in ms. */
const COMMAND_TIMEOUT_MS = 2000;

export class RedisBroker implements Broker {
  readonly kind = 'redis';
  readonly shardCount: number;
  readonly registry: RedisRegistry;
  readonly #keys: KeySpace;
  readonly #commands: RedisClient;
  readonly #subscriber: RedisClient;
  /** Redis Cluster: SPUBLISH / SSUBSCRIBE (sharded pub/sub). */
  readonly #sharded: boolean;
  readonly #relay: RelaySubscriber;
  readonly #epochs: (string | undefined)[];
  /** Per shard, the last stream id the relay delivered (backfill starts after it). */
  readonly #lastSeen: (string | undefined)[];
  #sink: BrokerSink | undefined;
  #malformedMessages = 0;
  #relayDisconnects = 0;
  /** Set by close(): the relay's own disconnect is then no outage to report. */
  #closing = false;
  readonly #breaker: Breaker<[string, readonly string[], readonly string[]], unknown>;
  /** SHA1 of each script, for EVALSHA. */
  readonly #shas = new Map<string, string>();

  constructor(private readonly options: RedisBrokerOptions) {
    this.shardCount = options.shards;
    this.#keys = { prefix: options.prefix, shardCount: options.shards };
    this.#epochs = new Array<string | undefined>(options.shards).fill(undefined);
    this.#lastSeen = new Array<string | undefined>(options.shards).fill(undefined);
    const connections = createRedisConnections({
      topology: options.topology,
      connectionNamePrefix: options.prefix,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    this.#commands = connections.commands;
    this.#subscriber = connections.subscriber;
    this.#sharded = connections.sharded;
    // Errors surface as rejected commands and `close` events; the listener keeps Node from
    // treating them as unhandled.
    const quiet = (err: unknown): void => {
      options.log.debug({ err }, 'redis connection error');
    };
    this.#commands.on('error', quiet);
    this.#subscriber.on('error', quiet);
    this.registry = new RedisRegistry(this.#commands, options.prefix);
    this.#breaker = createBreaker(
      (source: string, keys: readonly string[], args: readonly string[]) =>
        this.#evaluate(source, keys, args),
      { name: 'redis' },
      options.log,
    );
    this.#relay = new RelaySubscriber(
      this.#subscriber,
      {
        onMessage: (m) => {
          this.#deliver(m);
        },
        onMalformed: () => {
          this.#malformedMessages += 1;
        },
        onDown: () => {
          if (this.#closing) return;
          this.#relayDisconnects += 1;
          this.#sink?.onDown();
        },
        onReconnected: () => this.#backfill(),
      },
      options.log,
      connections.sharded,
    );
  }

  shardOf(topic: string): number {
    return shardOf(topic, this.shardCount);
  }

  async start(sink: BrokerSink): Promise<void> {
    this.#sink = sink;
    await Promise.all([this.#commands.connect(), this.#subscriber.connect()]);
    for (let shard = 0; shard < this.shardCount; shard++) {
      await this.#ensureMeta(shard);
      // Backfill after a reconnect starts here for shards that relayed nothing yet: without a
      // starting point, events published while the relay was down would be skipped for good.
      this.#advanceLastSeen(await this.head(shard));
    }
    this.#relay.markUp();
  }

  isUp(): boolean {
    return this.#commands.status === 'ready' && this.#relay.isUp;
  }

  async publish(batch: readonly PublishInput[]): Promise<PublishResult> {
    const byShard = new Map<number, number[]>();
    for (const [index, input] of batch.entries()) {
      const shard = this.shardOf(input.topic);
      const list = byShard.get(shard) ?? [];
      list.push(index);
      byShard.set(shard, list);
    }
    const ids: (string | null)[] = new Array<string | null>(batch.length).fill(null);
    let stored = 0;
    const failures: unknown[] = [];
    await Promise.all(
      [...byShard].map(async ([shard, indexes]) => {
        try {
          const result = await this.#publishShard(
            shard,
            indexes.map((i) => batch[i]).filter((e): e is PublishInput => e !== undefined),
          );
          for (const [k, index] of indexes.entries()) ids[index] = result.ids[k] ?? null;
          stored += result.stored;
        } catch (err) {
          failures.push(err);
        }
      }),
    );
    if (failures.length === 0) return { ids: ids.map((id) => id ?? ''), stored };
    const first = failures[0];
    const partial = ids.some((id) => id !== null);
    const code = first instanceof GatewayError ? first.code : 'BROKER_UNAVAILABLE';
    throw new GatewayError(
      code,
      first instanceof GatewayError
        ? first.message
        : 'The broker (Redis) is unavailable; the event was not stored. Retry shortly.',
      { cause: first, ...(partial ? { ids } : {}) },
    );
  }

  async acquire(patterns: readonly Pattern[]): Promise<Interest> {
    const channels = [...new Set(patterns.flatMap((p) => channelsFor(this.#keys, p)))];
    await this.#relay.acquire(channels);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#relay.release(channels);
      },
    };
  }

  async head(shard: number): Promise<Cursor> {
    const [epoch, lastId] = await this.#script<[string, string]>(
      HEAD_SCRIPT,
      [metaKey(this.#keys, shard), streamKey(this.#keys, shard)],
      [],
      shard,
    );
    return this.#cursor(shard, epoch, lastId);
  }

  async syncPoint(shard: number): Promise<Cursor> {
    const head = await this.head(shard);
    await this.#relay.flush(streamKey(this.#keys, shard));
    // Every event up to the head has reached us: a later backfill need not read them again.
    this.#advanceLastSeen(head);
    return head;
  }

  async readAfter(shard: number, start: ReadStart, limit: number): Promise<HistoryPage> {
    const reply = await this.#script<string[]>(
      READ_SCRIPT,
      [metaKey(this.#keys, shard), streamKey(this.#keys, shard)],
      [
        start === 'earliest' ? '' : start.epoch,
        start === 'earliest' ? '' : positionToStreamId(start.position),
        String(limit),
        String(this.options.historyTtlMs),
      ],
      shard,
    );
    const [verdict, epoch = '', lastGen = '0-0'] = reply;
    if (verdict === 'trimmed' || verdict === 'unknown' || verdict === 'lost') return { verdict };
    const events: BrokerEvent[] = [];
    for (let i = 3; i + 3 < reply.length; i += 4) {
      const [id = '', topic = '', event = '', data = ''] = reply.slice(i, i + 4);
      events.push(this.#event(shard, epoch, { id, topic, event, data }));
    }
    const last = events.at(-1);
    const done =
      events.length < limit ||
      last === undefined ||
      positionToStreamId(last.cursor.position) === lastGen;
    return { verdict: 'ok', events, done, newest: this.#cursor(shard, epoch, lastGen) };
  }

  async historyLength(): Promise<number> {
    const lengths = await Promise.all(
      Array.from({ length: this.shardCount }, (_, shard) =>
        this.#commands.xlen(streamKey(this.#keys, shard)),
      ),
    );
    return lengths.reduce((a, b) => a + b, 0);
  }

  counters(): BrokerCounters {
    const state = this.#breaker.state;
    return {
      relayDisconnects: this.#relayDisconnects,
      malformedMessages: this.#malformedMessages,
      breakerState: state === 'open' ? 2 : state === 'half_open' ? 1 : 0,
    };
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#breaker.shutdown();
    this.#subscriber.disconnect();
    try {
      await this.#commands.quit();
    } catch {
      this.#commands.disconnect();
    }
  }

  async #publishShard(shard: number, events: readonly PublishInput[]): Promise<PublishResult> {
    const keys = [metaKey(this.#keys, shard), streamKey(this.#keys, shard)];
    const args = [
      `${this.options.prefix}:${shardTag(this.#keys, shard)}:`,
      this.#sharded ? 'SPUBLISH' : 'PUBLISH',
      String(events.length),
    ];
    for (const e of events) {
      const hasKey = e.idempotencyKey === undefined ? '' : '1';
      if (e.idempotencyKey !== undefined)
        keys.push(idempotencyKey(this.#keys, shard, e.idempotencyKey));
      args.push(e.topic, e.event ?? '', e.data, hasKey);
    }
    const reply = await this.#script<string[]>(PUBLISH_SCRIPT, keys, args, shard);
    if (reply[0] === 'conflict') {
      const redisKey = reply[1];
      const given = events.find(
        (e) =>
          e.idempotencyKey !== undefined &&
          idempotencyKey(this.#keys, shard, e.idempotencyKey) === redisKey,
      );
      throw idempotencyConflict(given?.idempotencyKey ?? '?');
    }
    const [epoch, stored, ...streamIds] = reply as [string, number, ...string[]];
    const ids = streamIds.map((sid) => encodeEventId([this.#cursor(shard, epoch, sid)]));
    return { ids, stored };
  }

  /**
   * Runs a script by hash, loading it on NOSCRIPT; maps connection trouble to BROKER_UNAVAILABLE.
   * When the shard's meta hash is gone (Redis lost its data), recreates it (a new epoch that
   * records the one this replica knew) and runs the script once more.
   */
  async #script<T>(
    source: string,
    keys: readonly string[],
    args: readonly string[] = [],
    shard?: number,
  ): Promise<T> {
    const reply = await this.#run<T>(source, keys, args);
    if (!Array.isArray(reply) || reply[0] !== 'nometa') return reply;
    if (shard === undefined) {
      throw new GatewayError('BROKER_UNAVAILABLE', 'The deployment metadata is missing in Redis.');
    }
    this.options.log.warn(
      { shard, knownEpoch: this.#epochs[shard] },
      'redis lost its data: starting a new epoch',
    );
    await this.#ensureMeta(shard);
    return this.#run<T>(source, keys, args);
  }

  async #run<T>(source: string, keys: readonly string[], args: readonly string[]): Promise<T> {
    try {
      return (await this.#breaker.fire(source, keys, args)) as T;
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      const message = this.#breaker.isOpenError(err)
        ? 'The broker (Redis) is failing; calls fail fast until it recovers. Retry shortly.'
        : 'The broker (Redis) is unavailable; retry shortly (with the same idempotency key, if the outcome is unknown).';
      throw new GatewayError('BROKER_UNAVAILABLE', message, { cause: err });
    }
  }

  /** One script call: EVALSHA, loading the script on NOSCRIPT (a restarted Redis forgot it). */
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
      return await this.#commands.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.#commands.eval(source, keys.length, ...keys, ...args);
    }
  }

  async #ensureMeta(shard: number): Promise<void> {
    const o = this.options;
    const reply = await this.#script<string[]>(
      ENSURE_META_SCRIPT,
      [metaKey(this.#keys, shard)],
      [
        REDIS_PROTOCOL_VERSION,
        String(o.shards),
        newEpoch(),
        '1',
        String(o.historySize),
        String(o.historyTtlMs),
        String(o.idempotencyTtlMs),
        String(o.maxEventBytes),
        this.#epochs[shard] ?? '',
      ],
    );
    if (reply[0] === 'mismatch') {
      const setting = reply[1] === 'shards' ? 'REDIS_SHARDS' : 'the ssehub protocol version';
      throw new DeploymentMismatchError(
        `This deployment's Redis (prefix "${o.prefix}") was created with ${setting} = ${reply[2] ?? '?'}, but this gateway has ${reply[1] === 'shards' ? String(o.shards) : REDIS_PROTOCOL_VERSION}. ${setting} is fixed for the life of a deployment: use the same value, or another REDIS_PREFIX.`,
      );
    }
    this.#epochs[shard] = reply[1];
    o.log.info(
      { shard, epoch: reply[1], historySize: o.historySize, historyTtlMs: o.historyTtlMs },
      'redis shard ready; settings applied',
    );
  }

  async #bumpEpoch(shard: number, seen: string): Promise<void> {
    const epoch = await this.#script<string>(
      BUMP_EPOCH_SCRIPT,
      [metaKey(this.#keys, shard)],
      [seen, newEpoch()],
    );
    this.#epochs[shard] = epoch;
    this.options.log.warn(
      { shard, retired: seen, epoch },
      'history went backwards (failover?): new epoch',
    );
  }

  /** Moves a shard's last-seen id up to `cursor` (a new epoch replaces it). */
  #advanceLastSeen(cursor: Cursor): void {
    const id = positionToStreamId(cursor.position);
    const seen = this.#lastSeen[cursor.shard];
    if (cursor.epoch !== this.#epochs[cursor.shard] || seen === undefined || isAfter(id, seen)) {
      this.#epochs[cursor.shard] = cursor.epoch;
      this.#lastSeen[cursor.shard] = id;
    }
  }

  #deliver(m: RelayedMessage): void {
    const shard = this.shardOf(m.topic);
    this.#lastSeen[shard] = m.streamId;
    this.#epochs[shard] = m.epoch;
    this.#sink?.onEvent(
      this.#event(shard, m.epoch, {
        id: m.streamId,
        topic: m.topic,
        event: m.event ?? '',
        data: m.data,
      }),
    );
  }

  /** After a reconnect: every shard's events after the last one seen, from history, in order. */
  async #backfill(): Promise<void> {
    for (let shard = 0; shard < this.shardCount; shard++) {
      const lastSeen = this.#lastSeen[shard];
      const epoch = this.#epochs[shard];
      if (lastSeen === undefined || epoch === undefined) continue;
      let after: Cursor = this.#cursor(shard, epoch, lastSeen);
      for (;;) {
        const page = await this.readAfter(shard, after, 500);
        if (page.verdict === 'unknown' && after.epoch === this.#epochs[shard]) {
          // Our last id is ahead of the stream: a failover to a replica that missed the newest
          // events. New events could reuse ids already delivered, so retire this epoch.
          await this.#bumpEpoch(shard, after.epoch);
        }
        if (page.verdict !== 'ok') {
          // What we would backfill is gone: the streams of this shard close and resume from
          // history themselves, and get the reset that says why.
          this.#sink?.onGap(shard);
          // Follow the shard from its current head (in its current epoch) from now on.
          this.#lastSeen[shard] = undefined;
          this.#advanceLastSeen(await this.head(shard));
          break;
        }
        for (const event of page.events) {
          this.#lastSeen[shard] = positionToStreamId(event.cursor.position);
          this.#sink?.onEvent(event);
        }
        const last = page.events.at(-1);
        if (page.done || last === undefined) break;
        after = last.cursor;
      }
    }
    this.#sink?.onUp();
  }

  /** A history entry or relayed message as a BrokerEvent; `publishedAt` is the stream id's time. */
  #event(shard: number, epoch: string, entry: StreamEntry): BrokerEvent {
    const cursor = this.#cursor(shard, epoch, entry.id);
    return {
      topic: entry.topic,
      event: entry.event === '' ? undefined : entry.event,
      data: entry.data,
      publishedAt: cursor.position.ms,
      cursor,
    };
  }

  #cursor(shard: number, epoch: string, streamId: string): Cursor {
    return { epoch, shard, position: streamIdToPosition(streamId) };
  }
}
