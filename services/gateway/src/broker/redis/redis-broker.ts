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
 *
 * Why one file past 400 lines: this class is the Broker contract for Redis, one method per
 * member of the contract plus the script calls they share, and it owns the two connections and
 * the epochs they all read. What does not need that state is in its own file: the start-up loop
 * (`redis-startup.ts`), waits (`client-waits.ts`), which server a connection reaches
 * (`server-identity.ts`), the connections, the relay, the registry, and the scripts' codecs.
 */
import {
  REDIS_PROTOCOL_VERSION,
  encodeEventId,
  newEpoch,
  positionToStreamId,
  shardOf,
  streamIdToPosition,
  streamKey,
  type Cursor,
  type KeySpace,
  type Pattern,
} from '@ssehub/protocol';
import {
  bumpEpochScript,
  checkPositionScript,
  conflictingKey,
  ensureMetaScript,
  headScript,
  publishScript,
  readScript,
  type NoMetaReply,
  type ReadEntry,
  type Script,
  type ScriptCall,
} from '@ssehub/protocol/scripts';
import {
  ScriptRunner,
  createBreaker,
  groupByShard,
  isBreakerOpen,
  storeByShard,
  type Breaker,
} from '@ssehub/redis-client';
import { Cluster } from 'ioredis';
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
import { logBreakerState, logHealthy } from '../../resilience/breaker.js';
import {
  createRedisConnections,
  type RedisClient,
  type RedisTopology,
} from './redis-connections.js';
import { RelaySkips } from '../relay-skips.js';
import { describeTopology } from './redis-address.js';
import { RedisRegistry } from './redis-registry.js';
import { Relay, type PositionCheck } from './relay.js';
import { BrokerClosedError, rejectOnAbort, withTimeout } from './client-waits.js';
import { DeploymentMismatchError, reachRedis } from './redis-startup.js';
import { serverIdOf, slotOwnerOf } from './server-identity.js';
import { RelaySubscriber } from './relay-subscriber.js';

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

export { DeploymentMismatchError } from './redis-startup.js';

/** How long a request-path command may take before it counts as failed, in ms. */
const COMMAND_TIMEOUT_MS = 2000;

/** Pause before connecting a connection that ioredis gave up on again, in ms. */
const RECONNECT_AFTER_END_MS = 500;

/**
 * Longest wait for Redis to confirm an interest's subscriptions, in ms. The subscriber
 * connection times each command out after 3 s, but on Cluster a command can also wait in the
 * cluster client's own queue while no node is reachable: this bounds the time a subscribe
 * request (and its connection slot) can be held, whatever the topology.
 */
const SUBSCRIBE_TIMEOUT_MS = 5000;

/** Whether a script goes through the request-path breaker or straight to Redis (the relay). */
type Via = 'breaker' | 'direct';

/** A reply other than `nometa`, which {@link RedisBroker} handles for every script at once. */
function hasMeta<R extends { readonly kind: string }>(reply: R): reply is Exclude<R, NoMetaReply> {
  return reply.kind !== 'nometa';
}

export class RedisBroker implements Broker {
  readonly kind = 'redis';
  readonly shardCount: number;
  readonly registry: RedisRegistry;
  readonly #keys: KeySpace;
  readonly #commands: RedisClient;
  readonly #subscriber: RedisClient;
  /** Redis Cluster: SPUBLISH / SSUBSCRIBE (sharded pub/sub). */
  readonly #sharded: boolean;
  /** The subscriber connection's channels. */
  readonly #channels: RelaySubscriber;
  /** The relay's recovery state machine: the owner of every shard's last-seen position. */
  readonly #relay: Relay;
  #sink: BrokerSink | undefined;
  /** Relayed messages skipped (did not parse, or dispatching them threw), by reason. */
  readonly #skips: RelaySkips;
  #relayDisconnects = 0;
  /** Set by close(): the relay's own disconnect is then no outage to report. */
  #closing = false;
  /** Aborted by close(), so a start still waiting for Redis gives up. */
  readonly #stopped = new AbortController();
  readonly #breaker: Breaker<[string, ScriptCall], unknown>;
  /** The scripts on the commands connection (EVALSHA, EVAL on NOSCRIPT). */
  readonly #runner: ScriptRunner;

  constructor(private readonly options: RedisBrokerOptions) {
    this.shardCount = options.shards;
    this.#keys = { prefix: options.prefix, shardCount: options.shards };
    const connections = createRedisConnections({
      topology: options.topology,
      connectionNamePrefix: options.prefix,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    this.#commands = connections.commands;
    this.#subscriber = connections.subscriber;
    this.#sharded = connections.sharded;
    // Errors surface as rejected commands and `close` events; the listener keeps Node from
    // treating them as unhandled. Start-up reports the cause of a failed connect itself.
    const quiet = (err: unknown): void => {
      options.log.debug({ err }, 'redis connection error');
    };
    this.#commands.on('error', quiet);
    this.#subscriber.on('error', quiet);
    // ioredis gives a connection up for good (`end`) when a connect attempt itself fails, e.g.
    // when a Sentinel failover is announced while it is asking a sentinel for the master (seen
    // in the fault-injection suite: a replica stayed down for 26 s). Nothing would ever connect
    // it again, so connect it again, unless the broker is closing.
    const revive = (client: RedisClient, role: string): void => {
      client.on('end', () => {
        if (this.#closing) return;
        options.log.warn({ role }, 'the redis connection gave up; connecting it again');
        setTimeout(() => {
          if (!this.#closing && client.status === 'end') client.connect().catch(() => undefined);
        }, RECONNECT_AFTER_END_MS).unref();
      });
    };
    revive(this.#commands, 'commands');
    revive(this.#subscriber, 'subscriber');
    this.registry = new RedisRegistry(this.#commands, options.prefix);
    this.#runner = new ScriptRunner(this.#commands);
    this.#breaker = createBreaker(
      (source: string, call: ScriptCall) => this.#runner.evaluate(source, call),
      { name: 'redis', onStateChange: logBreakerState(options.log, 'redis') },
    );
    // SPEC 9: publishes are accepted again as soon as Redis is healthy, not after the breaker's
    // reset timeout. `ready` (the Cluster's own, on Cluster) follows a successful ready check.
    this.#commands.on('ready', () => {
      logHealthy(options.log, 'redis', this.#breaker.state);
      this.#breaker.onHealthy();
    });
    this.#skips = new RelaySkips(options.log);
    this.#channels = new RelaySubscriber(
      this.#subscriber,
      {
        message: (channel, message) => {
          this.#relay.message(channel, message);
        },
        connected: () => {
          this.#relay.connected();
        },
        disconnected: () => {
          this.#relay.disconnected();
        },
      },
      options.log,
      connections.sharded,
    );
    this.#relay = new Relay({
      shardCount: options.shards,
      shardOf: (topic) => this.shardOf(topic),
      log: options.log,
      // The relay's reads go straight to Redis: never behind the request-path breaker.
      history: {
        head: (shard) => this.#head(shard, 'direct'),
        check: (shard, seen) => this.#checkPosition(shard, seen),
        readAfter: (shard, after, limit) => this.#readAfter(shard, after, limit, 'direct'),
        retire: (shard, epoch) => this.#bumpEpoch(shard, epoch),
        recordPast: (shard, epoch) => this.#ensureMeta(shard, epoch),
        serverId: (shard) =>
          this.#sharded
            ? Promise.resolve(slotOwnerOf(this.#commands, streamKey(this.#keys, shard)))
            : serverIdOf(this.#commands),
      },
      connection: {
        resubscribe: () => this.#channels.resubscribe(),
        ping: (shard) => this.#channels.flush(streamKey(this.#keys, shard)),
        reconnect: () => {
          this.#channels.reconnect();
        },
        serverId: () => (this.#sharded ? Promise.resolve(undefined) : serverIdOf(this.#subscriber)),
        ...(connections.sharded
          ? {
              nodeOf: (shard: number) => this.#channels.nodeOf(streamKey(this.#keys, shard)),
              refreshTopology: () => {
                for (const client of [this.#commands, this.#subscriber]) {
                  if (client instanceof Cluster) client.refreshSlotsCache();
                }
              },
            }
          : {}),
      },
      output: {
        onEvent: (event) => this.#sink?.onEvent(event),
        onUp: () => this.#sink?.onUp(),
        onDown: () => {
          if (this.#closing) return;
          this.#relayDisconnects += 1;
          this.#sink?.onDown();
        },
        onGap: (shard) => this.#sink?.onGap(shard),
        onSkipped: (reason, detail) => {
          this.#skips.count(reason, detail);
        },
      },
    });
  }

  shardOf(topic: string): number {
    return shardOf(topic, this.shardCount);
  }

  /**
   * Reaches Redis, checks it, then waits until the relay is live. A Redis that cannot be reached
   * yet is retried with backoff for as long as it takes (SPEC 9: the gateway becomes ready the
   * first time it gets there), with its address and the cause logged once per attempt window.
   * Rejects only for what waiting cannot fix: a Redis older than 7.0, or a deployment made with
   * other fixed settings ({@link DeploymentMismatchError}), or close().
   */
  async start(sink: BrokerSink): Promise<void> {
    this.#sink = sink;
    await reachRedis({
      commands: this.#commands,
      address: describeTopology(this.options.topology),
      log: this.options.log,
      signal: this.#stopped.signal,
      prepare: async () => {
        for (let shard = 0; shard < this.shardCount; shard++) await this.#ensureMeta(shard);
      },
    });
    if (this.#stopped.signal.aborted) throw new BrokerClosedError();
    // ioredis keeps reconnecting after a failed first connect; the relay goes live on `ready`.
    this.#subscriber.connect().catch(() => undefined);
    await Promise.race([this.#relay.whenLive(), rejectOnAbort(this.#stopped.signal)]);
  }

  isUp(): boolean {
    return this.#commands.status === 'ready' && this.#relay.isLive;
  }

  async publish(batch: readonly PublishInput[]): Promise<PublishResult> {
    const byShard = groupByShard(batch, (input) => this.shardOf(input.topic));
    const outcome = await storeByShard(batch, byShard, (shard, events) =>
      this.#publishShard(shard, events),
    );
    const stored = outcome.results.reduce((sum, result) => sum + result.stored, 0);
    if (outcome.ok) return { ids: outcome.ids, stored };
    const first = outcome.failure;
    const code = first instanceof GatewayError ? first.code : 'BROKER_UNAVAILABLE';
    throw new GatewayError(
      code,
      first instanceof GatewayError
        ? first.message
        : 'The broker (Redis) is unavailable; the event was not stored. Retry shortly.',
      { cause: first, ...(outcome.partial ? { ids: outcome.ids } : {}) },
    );
  }

  async acquire(patterns: readonly Pattern[]): Promise<Interest> {
    const channels = [...new Set(patterns.flatMap((p) => channelsFor(this.#keys, p)))];
    try {
      await withTimeout(
        this.#channels.acquire(channels),
        SUBSCRIBE_TIMEOUT_MS,
        'no confirmation of the subscription from Redis',
      );
    } catch (err) {
      // Not subscribed (connection down, or no answer within the command timeout): give the
      // channels back, or they would stay wanted with no interest left to release them.
      this.#channels.release(channels);
      throw err;
    }
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#channels.release(channels);
      },
    };
  }

  head(shard: number): Promise<Cursor> {
    return this.#head(shard, 'breaker');
  }

  syncPoint(shard: number): Promise<Cursor> {
    return this.#relay.syncPoint(shard);
  }

  readAfter(shard: number, start: ReadStart, limit: number): Promise<HistoryPage> {
    return this.#readAfter(shard, start, limit, 'breaker');
  }

  async #head(shard: number, via: Via): Promise<Cursor> {
    const head = await this.#script(headScript, { keys: this.#keys, shard }, { shard, via });
    return this.#cursor(shard, head.epoch, head.lastGeneratedId);
  }

  async #checkPosition(shard: number, seen: Cursor): Promise<PositionCheck> {
    const reply = await this.#script(
      checkPositionScript,
      { keys: this.#keys, shard, epoch: seen.epoch, position: seen.position },
      { shard, via: 'direct' },
    );
    if (reply.kind === 'ok') {
      return {
        verdict: reply.kind,
        newest: this.#cursor(shard, seen.epoch, reply.lastGeneratedId),
      };
    }
    return { verdict: reply.kind };
  }

  async #readAfter(shard: number, start: ReadStart, limit: number, via: Via): Promise<HistoryPage> {
    const page = await this.#script(
      readScript,
      { keys: this.#keys, shard, after: start, limit, historyTtlMs: this.options.historyTtlMs },
      { shard, via },
    );
    if (page.kind !== 'ok') return { verdict: page.kind };
    const { epoch, lastGeneratedId } = page;
    const events = page.entries.map((entry) => this.#event(shard, epoch, entry));
    const last = events.at(-1);
    const done =
      events.length < limit ||
      last === undefined ||
      positionToStreamId(last.cursor.position) === lastGeneratedId;
    return { verdict: 'ok', events, done, newest: this.#cursor(shard, epoch, lastGeneratedId) };
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
      skippedMessages: this.#skips.counts(),
      breakerState: state === 'open' ? 2 : state === 'half_open' ? 1 : 0,
    };
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#stopped.abort();
    this.#relay.stop();
    this.#breaker.shutdown();
    this.#subscriber.disconnect();
    try {
      await this.#commands.quit();
    } catch {
      this.#commands.disconnect();
    }
  }

  async #publishShard(shard: number, events: readonly PublishInput[]): Promise<PublishResult> {
    const input = { keys: this.#keys, shard, sharded: this.#sharded, events };
    const reply = await this.#script(publishScript, input, { shard });
    if (reply.kind === 'conflict') {
      throw idempotencyConflict(conflictingKey(input, reply.key) ?? '?');
    }
    const ids = reply.streamIds.map((sid) =>
      encodeEventId([this.#cursor(shard, reply.epoch, sid)]),
    );
    return { ids, stored: reply.stored };
  }

  /**
   * Runs a script by hash, loading it on NOSCRIPT, and checks its reply. Through the
   * request-path breaker (`via: 'breaker'`, the default: connection trouble becomes
   * BROKER_UNAVAILABLE), or straight to Redis for the relay (`'direct'`: errors as they are).
   * When the shard's meta hash is gone (Redis lost its data), recreates it (a new epoch that
   * records the one this replica knew) and runs the script once more.
   */
  async #script<TInput, TReply extends { readonly kind: string }>(
    script: Script<TInput, TReply>,
    input: TInput,
    { shard, via = 'breaker' }: { readonly shard?: number; readonly via?: Via } = {},
  ): Promise<Exclude<TReply, NoMetaReply>> {
    const call = script.call(input);
    const run = async (): Promise<TReply> =>
      script.parse(
        via === 'direct'
          ? await this.#runner.evaluate(script.source, call)
          : await this.#run(script.source, call),
      );
    const reply = await run();
    if (hasMeta(reply)) return reply;
    if (shard !== undefined) {
      this.options.log.warn(
        { shard, knownEpoch: this.#relay.knownEpoch(shard) },
        'redis lost its data: starting a new epoch',
      );
      await this.#ensureMeta(shard);
      const again = await run();
      if (hasMeta(again)) return again;
    }
    throw new GatewayError('BROKER_UNAVAILABLE', 'The deployment metadata is missing in Redis.');
  }

  async #run(source: string, call: ScriptCall): Promise<unknown> {
    try {
      return await this.#breaker.fire(source, call);
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      const message = isBreakerOpen(err)
        ? 'The broker (Redis) is failing; calls fail fast until it recovers. Retry shortly.'
        : 'The broker (Redis) is unavailable; retry shortly (with the same idempotency key, if the outcome is unknown).';
      throw new GatewayError('BROKER_UNAVAILABLE', message, { cause: err });
    }
  }

  /**
   * Creates the shard's meta hash when missing (a new epoch), applies this gateway's settings,
   * and adds `knownEpoch` (by default the epoch the relay follows) to the past epochs when the
   * stored one differs, so its cursors read as `history_lost`.
   */
  async #ensureMeta(shard: number, knownEpoch = this.#relay.knownEpoch(shard)): Promise<void> {
    const o = this.options;
    const reply = await this.#script(
      ensureMetaScript,
      {
        keys: this.#keys,
        shard,
        candidateEpoch: newEpoch(),
        apply: true,
        settings: o,
        knownEpoch,
      },
      { via: 'direct' },
    );
    if (reply.kind === 'mismatch') {
      const setting = reply.field === 'shards' ? 'REDIS_SHARDS' : 'the ssehub protocol version';
      throw new DeploymentMismatchError(
        `This deployment's Redis (prefix "${o.prefix}") was created with ${setting} = ${reply.stored}, but this gateway has ${reply.field === 'shards' ? String(o.shards) : REDIS_PROTOCOL_VERSION}. ${setting} is fixed for the life of a deployment: use the same value, or another REDIS_PREFIX.`,
      );
    }
    o.log.info(
      { shard, epoch: reply.epoch, historySize: o.historySize, historyTtlMs: o.historyTtlMs },
      'redis shard ready; settings applied',
    );
  }

  /** Retires `seen` on the shard (history went backwards); a no-op when another replica did. */
  async #bumpEpoch(shard: number, seen: string): Promise<void> {
    const { current: epoch } = await this.#script(
      bumpEpochScript,
      { keys: this.#keys, shard, seen, next: newEpoch() },
      { via: 'direct' },
    );
    this.options.log.warn({ shard, retired: seen, epoch }, 'epoch retired');
  }

  /** A history entry as a BrokerEvent; `publishedAt` is the stream id's time. */
  #event(shard: number, epoch: string, entry: ReadEntry): BrokerEvent {
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
