/**
 * The replica's one subscriber connection (STYLE.md A8, DESIGN.md "ioredis details"):
 * - channels are reference-counted from local interests, with one pending promise per channel,
 *   so a second interest in a channel whose SUBSCRIBE is in flight waits for the same
 *   confirmation; subscribe and unsubscribe of one channel are serialized;
 * - `autoResubscribe: false`: after a reconnect it resubscribes itself, awaits the replies, then
 *   backfills each shard from history after the last id it received, holding live messages
 *   meanwhile, so every event Redis accepted is delivered once and in order;
 * - malformed messages (written by something else) are counted and skipped.
 *
 * On Redis Cluster (`sharded`), the subscriber is an ioredis `Cluster` with
 * `shardedSubscribers: true`: channels are held with SSUBSCRIBE/SUNSUBSCRIBE on one connection
 * per master. ioredis reports a lost node connection as `-node` (with the node's key) and a
 * rebuilt subscriber set as `subscribersReady`; the relay treats them as down and reconnected
 * (resubscribe, awaiting the replies, then backfill), besides the whole-cluster `close`/`ready`.
 */
import { parseRelayedMessage, streamIdToPosition, type RelayedMessage } from '@ssehub/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { coveringChannels, isCoveredBy } from './channel-cover.js';
import { clusterSlot } from './cluster-slot.js';
import type { RedisClient } from './redis-connections.js';

/** The parts of ioredis's ClusterSubscriberGroup (not public API) that `flush` reads. */
interface ShardedGroupInternals {
  readonly clusterSlots?: readonly (readonly string[] | undefined)[];
  readonly shardedSubscribers?: ReadonlyMap<string, { getInstance(): Redis | null }>;
}

interface ChannelState {
  /** Cluster slot of the channel (sharded mode only; -1 otherwise). */
  readonly slot: number;
  /** Resolves once Redis confirmed the subscription. */
  readonly subscribed: Promise<void>;
}

export interface RelayHandlers {
  /** A well-formed message, in the order Redis delivered it (or from backfill). */
  onMessage(message: RelayedMessage): void;
  onMalformed(channel: string): void;
  onDown(): void;
  /** After resubscribing, with `backfill` to run before live messages flow again. */
  onReconnected(): Promise<void>;
}

export class RelaySubscriber {
  /** Channels subscribed on Redis: the minimal cover of the wanted ones. */
  readonly #channels = new Map<string, ChannelState>();
  /** Channels local interests asked for, with how many hold each. */
  readonly #wanted = new Map<string, number>();
  /** Per channel, the last subscribe/unsubscribe; the next one chains after it. */
  readonly #ops = new Map<string, Promise<void>>();
  #holding: RelayedMessage[] | undefined;
  #up = false;
  #everUp = false;

  constructor(
    private readonly sub: RedisClient,
    private readonly handlers: RelayHandlers,
    private readonly log: Logger,
    /** Redis Cluster: SSUBSCRIBE/SUNSUBSCRIBE on the node that owns each channel. */
    private readonly sharded = false,
  ) {
    const deliver = (channel: string, message: string): void => {
      const parsed = parseRelayedMessage(message);
      if (parsed === undefined) {
        handlers.onMalformed(channel);
        return;
      }
      if (this.#holding !== undefined) this.#holding.push(parsed);
      else handlers.onMessage(parsed);
    };
    sub.on('message', deliver);
    sub.on('smessage', deliver);
    sub.on('close', () => {
      if (!this.#up) return;
      this.#up = false;
      handlers.onDown();
    });
    sub.on('ready', () => {
      if (!this.#everUp) return; // the first connect is handled by start()
      void this.#recover();
    });
    if (sharded) {
      // A node's sharded subscriber ended (node lost); ioredis refreshes the slots and rebuilds
      // its subscribers, then says `subscribersReady`. The pool's own `-node` has no node key.
      sub.on('-node', (_redis: unknown, nodeKey?: string) => {
        if (nodeKey === undefined || !this.#up) return;
        this.#up = false;
        handlers.onDown();
      });
      sub.on('subscribersReady', () => {
        if (!this.#everUp || this.#up || this.#recovering) return;
        void this.#recover();
      });
    }
  }

  #recovering = false;

  #subscribe(channel: string): Promise<unknown> {
    return this.sharded ? this.sub.ssubscribe(channel) : this.sub.subscribe(channel);
  }

  #unsubscribe(channel: string): Promise<unknown> {
    return this.sharded ? this.sub.sunsubscribe(channel) : this.sub.unsubscribe(channel);
  }

  get isUp(): boolean {
    return this.#up;
  }

  /** Number of channels currently subscribed (for tests and metrics). */
  get channelCount(): number {
    return this.#channels.size;
  }

  markUp(): void {
    this.#up = true;
    this.#everUp = true;
  }

  /**
   * Takes the channels for an interest; resolves once Redis confirmed, for each, its own
   * subscription or that of a channel covering it (channel-cover.ts). A channel already covered
   * costs no Redis command; a new covering one is subscribed first, then the channels it now
   * covers are dropped (an event may arrive twice meanwhile: the dispatcher drops it by id).
   */
  async acquire(channels: readonly string[]): Promise<void> {
    const live: Promise<void>[] = [];
    for (const channel of channels) {
      const holders = (this.#wanted.get(channel) ?? 0) + 1;
      this.#wanted.set(channel, holders);
      if (holders === 1) this.#added(channel);
      live.push(this.#liveFor(channel));
    }
    await Promise.all(live);
  }

  /**
   * Gives the channels back. When the last holder of a subscribed channel leaves, the wanted
   * channels it covered are subscribed before it is dropped, so none of their events is missed.
   */
  release(channels: readonly string[]): void {
    for (const channel of channels) {
      const holders = (this.#wanted.get(channel) ?? 0) - 1;
      if (holders > 0) {
        this.#wanted.set(channel, holders);
        continue;
      }
      this.#wanted.delete(channel);
      if (!this.#channels.has(channel)) continue; // it was covered: nothing to drop
      const replacements: Promise<void>[] = [];
      for (const other of this.#wanted.keys()) {
        if (this.#channels.has(other) || !isCoveredBy(other, channel)) continue;
        if (this.#isWantedCover(other, channel)) continue;
        replacements.push(this.#subscribeChannel(other).subscribed);
      }
      this.#drop(channel, Promise.all(replacements));
    }
  }

  #added(channel: string): void {
    // A wanted channel is subscribed or covered by a subscribed one, so a wanted cover suffices.
    if (this.#isWantedCover(channel)) return;
    const state = this.#subscribeChannel(channel);
    for (const other of [...this.#channels.keys()]) {
      if (isCoveredBy(other, channel)) this.#drop(other, state.subscribed);
    }
  }

  /** True when a wanted channel (other than `except`) brings `channel`'s events. */
  #isWantedCover(channel: string, except?: string): boolean {
    return coveringChannels(channel).some((c) => c !== except && this.#wanted.has(c));
  }

  /** The confirmation that brings `channel`'s events: its own, or its nearest subscribed cover's. */
  #liveFor(channel: string): Promise<void> {
    const own = this.#channels.get(channel);
    if (own !== undefined) return own.subscribed;
    for (const cover of coveringChannels(channel)) {
      const state = this.#channels.get(cover);
      if (state !== undefined) return state.subscribed;
    }
    return Promise.resolve();
  }

  #subscribeChannel(channel: string): ChannelState {
    const state: ChannelState = {
      slot: this.sharded ? clusterSlot(channel) : -1,
      subscribed: this.#chain(channel, () => this.#subscribe(channel)),
    };
    this.#channels.set(channel, state);
    return state;
  }

  /** Unsubscribes a channel once `after` settled (its replacements are live). */
  #drop(channel: string, after: Promise<unknown>): void {
    this.#channels.delete(channel);
    this.#chain(channel, async () => {
      await after.catch(() => undefined);
      if (this.#channels.has(channel)) return; // taken again meanwhile
      // On Cluster, ioredis keeps its own list of sharded channels and resubscribes them
      // when it rebuilds a node's subscriber: drop the channel from it even while down.
      if (this.#up || this.sharded) await this.#unsubscribe(channel);
    }).catch((err: unknown) => {
      this.log.debug({ err, channel }, 'unsubscribe failed (the connection is down)');
    });
  }

  /** Runs `step` after the channel's previous subscribe/unsubscribe, so they never reorder. */
  #chain(channel: string, step: () => Promise<unknown>): Promise<void> {
    const previous = this.#ops.get(channel) ?? Promise.resolve();
    const next = previous.then(step).then(() => undefined);
    const settled = next.catch(() => undefined);
    this.#ops.set(channel, settled);
    void settled.then(() => {
      if (this.#ops.get(channel) === settled) this.#ops.delete(channel);
    });
    return next;
  }

  /**
   * A position L has reached us when a PING sent now comes back: one connection delivers in
   * order, so every message published before L's read arrived before the PONG (DESIGN.md).
   *
   * On Cluster the PING must go to the sharded subscriber connection of the node owning
   * `slotKey`'s slot (a key with the shard's hash tag); ioredis does not expose it, so this reads
   * its subscriber group's internals. No channel held in that slot: nothing of it can be in
   * flight, so it resolves at once. Connection not found or not ready: it rejects (the caller
   * does not advance the watermark this round).
   */
  async flush(slotKey?: string): Promise<void> {
    // While down, a PING would wait in the client's queue and answer after the reconnect, before
    // the backfill: never let that pass for "everything up to the head has arrived".
    if (!this.#up) throw new Error('the relay is down');
    if (!this.sharded || slotKey === undefined) {
      await this.sub.ping();
      return;
    }
    const slot = clusterSlot(slotKey);
    if (![...this.#channels.values()].some((c) => c.slot === slot)) return;
    const group = (this.sub as unknown as { shardedSubscribers?: ShardedGroupInternals })
      .shardedSubscribers;
    const nodeKey = group?.clusterSlots?.[slot]?.[0];
    const connection =
      nodeKey === undefined ? undefined : group?.shardedSubscribers?.get(nodeKey)?.getInstance();
    if (connection?.status !== 'ready') {
      throw new Error(`no ready sharded subscriber for slot ${String(slot)}`);
    }
    await connection.ping();
  }

  async #recover(): Promise<void> {
    if (this.sharded && this.#recovering) return;
    this.#recovering = true;
    this.#holding = [];
    try {
      await Promise.all([...this.#channels.keys()].map((c) => this.#subscribe(c)));
      await this.handlers.onReconnected();
      const held = this.#holding;
      this.#holding = undefined;
      this.#up = true;
      for (const message of held) this.handlers.onMessage(message);
      this.log.info({ channels: this.#channels.size }, 'relay resubscribed and backfilled');
    } catch (err) {
      this.#holding = undefined;
      this.log.warn({ err }, 'relay recovery failed; retrying on the next reconnect');
      if (this.sharded) {
        // A cluster reconnect is quick while the lost node is still away: pace the retries.
        setTimeout(() => {
          this.sub.disconnect(true);
        }, 1000).unref();
      } else {
        this.sub.disconnect(true);
      }
    } finally {
      this.#recovering = false;
    }
  }
}

/** Orders two stream ids; for backfill bookkeeping. */
export function isAfter(a: string, b: string): boolean {
  const pa = streamIdToPosition(a);
  const pb = streamIdToPosition(b);
  return pa.ms > pb.ms || (pa.ms === pb.ms && pa.seq > pb.seq);
}
