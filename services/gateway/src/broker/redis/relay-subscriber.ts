/**
 * The replica's one subscriber connection (STYLE.md A8, DESIGN.md "ioredis details"):
 * - channels are reference-counted from local interests, with one pending promise per channel,
 *   so a second interest in a channel whose SUBSCRIBE is in flight waits for the same
 *   confirmation; subscribe and unsubscribe of one channel are serialized;
 * - `autoResubscribe: false`: after a reconnect, relay.ts's state machine calls `resubscribe()`,
 *   which awaits Redis's replies, before it backfills from history;
 * - it parses nothing and decides nothing about recovery: it reports messages and connection
 *   events to relay.ts.
 *
 * On Redis Cluster (`sharded`), the subscriber is an ioredis `Cluster` with
 * `shardedSubscribers: true`: channels are held with SSUBSCRIBE/SUNSUBSCRIBE on one connection
 * per master. ioredis reports a lost node connection as `-node` (with the node's key) and a
 * rebuilt subscriber set as `subscribersReady`; they are reported as disconnected and connected,
 * besides the whole-cluster `close`/`ready`.
 */
import type { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { coveringChannels, isCoveredBy } from './channel-cover.js';
import { clusterSlot } from './cluster-slot.js';
import type { RedisClient } from './redis-connections.js';

/** The parts of ioredis's ClusterSubscriberGroup (not public API) that `flush` reads. */
interface ShardedGroupInternals {
  readonly clusterSlots?: readonly (readonly string[] | undefined)[];
  /** The channels ioredis resubscribes when it rebuilds a node's subscriber, per slot. */
  readonly channels?: Map<number, string[]>;
  readonly shardedSubscribers?: ReadonlyMap<string, { getInstance(): Redis | null }>;
}

/**
 * After a slot moved, how long to wait for ioredis to rebuild its sharded subscribers before
 * recovering anyway, in ms.
 */
const SLOT_MOVE_REBUILD_MS = 1000;

interface ChannelState {
  /** Cluster slot of the channel (sharded mode only; -1 otherwise). */
  readonly slot: number;
  /** Resolves once Redis confirmed the subscription. */
  readonly subscribed: Promise<void>;
}

/** What the subscriber connection reports; the relay's state machine (relay.ts) listens. */
export interface RelayConnectionEvents {
  /** A message on a subscribed channel, raw, in the order Redis delivered it. */
  message(channel: string, message: string): void;
  /** The connection (every node's, on Cluster) is usable again: resubscribe, then backfill. */
  connected(): void;
  /** The connection (or one node's, on Cluster) is gone: messages may be missed from here on. */
  disconnected(): void;
}

/**
 * The subscriber connection's channels: the minimal cover of what local interests want,
 * reference-counted, each channel's subscribe and unsubscribe serialized. It reports the
 * connection's events and never decides anything about recovery: that is relay.ts's job.
 */
export class RelaySubscriber {
  /** Channels subscribed on Redis: the minimal cover of the wanted ones. */
  readonly #channels = new Map<string, ChannelState>();
  /** Channels local interests asked for, with how many hold each. */
  readonly #wanted = new Map<string, number>();
  /** Per channel, the last subscribe/unsubscribe; the next one chains after it. */
  readonly #ops = new Map<string, Promise<void>>();

  constructor(
    private readonly sub: RedisClient,
    events: RelayConnectionEvents,
    private readonly log: Logger,
    /** Redis Cluster: SSUBSCRIBE/SUNSUBSCRIBE on the node that owns each channel. */
    private readonly sharded = false,
  ) {
    const deliver = (channel: string, message: string): void => {
      events.message(channel, message);
    };
    sub.on('message', deliver);
    sub.on('smessage', deliver);
    sub.on('close', () => {
      events.disconnected();
    });
    sub.on('ready', () => {
      events.connected();
    });
    if (sharded) {
      // A node's sharded subscriber ended (node lost); ioredis refreshes the slots and rebuilds
      // its subscribers, then says `subscribersReady`. The pool's own `-node` has no node key.
      sub.on('-node', (_redis: unknown, nodeKey?: string) => {
        if (nodeKey === undefined) return;
        events.disconnected();
      });
      // A slot moved (CLUSTER FAILOVER, resharding): the node that lost it sends an unsolicited
      // SUNSUBSCRIBE, and ioredis only refreshes its slot map, saying nothing to its user. Its
      // channels are gone until the subscribers are rebuilt, so it is a disconnect; the rebuild
      // ends with `subscribersReady`, unless ioredis finds nothing to rebuild, hence the timer.
      let rebuildTimer: NodeJS.Timeout | undefined;
      const lost = (): void => {
        events.disconnected();
        clearTimeout(rebuildTimer);
        rebuildTimer = setTimeout(() => {
          events.connected();
        }, SLOT_MOVE_REBUILD_MS);
        rebuildTimer.unref();
      };
      this.#shardedGroupEvents()?.on('moved', lost);
      sub.on('-subscriber', lost);
      sub.on('subscribersReady', () => {
        clearTimeout(rebuildTimer);
        events.connected();
      });
    }
  }

  #subscribe(channel: string): Promise<unknown> {
    return this.sharded ? this.sub.ssubscribe(channel) : this.sub.subscribe(channel);
  }

  #unsubscribe(channel: string): Promise<unknown> {
    return this.sharded ? this.sub.sunsubscribe(channel) : this.sub.unsubscribe(channel);
  }

  /** Number of channels currently subscribed (for tests and metrics). */
  get channelCount(): number {
    return this.#channels.size;
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
      // While the connection is down this fails at once (no offline queue), which is fine: the
      // next resubscribe() leaves the channel out. On Cluster, ioredis keeps its own list of
      // sharded channels and resubscribes them when it rebuilds a node's subscriber, and the
      // SUNSUBSCRIBE drops the channel from that list even while down.
      await this.#unsubscribe(channel);
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
    // The connection has no offline queue and resends nothing after a reconnect, so a PING sent
    // before a cut fails instead of answering after it; relay.ts also drops a reply that comes
    // back in a later generation.
    if (!this.sharded || slotKey === undefined) {
      await this.sub.ping();
      return;
    }
    const slot = clusterSlot(slotKey);
    if (![...this.#channels.values()].some((c) => c.slot === slot)) return;
    const group = this.#shardedGroup();
    const nodeKey = group?.clusterSlots?.[slot]?.[0];
    const connection =
      nodeKey === undefined ? undefined : group?.shardedSubscribers?.get(nodeKey)?.getInstance();
    if (connection?.status !== 'ready') {
      throw new Error(`no ready sharded subscriber for slot ${String(slot)}`);
    }
    await connection.ping();
  }

  /**
   * Subscribes every channel of the cover again on a new connection and resolves once Redis
   * confirmed them all (`autoResubscribe: false`: ioredis's own resubscribe would not be awaited).
   * Each goes through the channel's chain, so it cannot overtake an unsubscribe in flight, and
   * becomes the confirmation later interests in the channel wait for.
   */
  async resubscribe(): Promise<void> {
    const confirmations: Promise<void>[] = [];
    for (const [channel, previous] of this.#channels) {
      const state: ChannelState = {
        slot: previous.slot,
        subscribed: this.#chain(channel, () => this.#subscribe(channel)),
      };
      this.#channels.set(channel, state);
      confirmations.push(state.subscribed);
    }
    try {
      await Promise.all(confirmations);
    } finally {
      if (this.sharded) this.#dedupeShardedChannels();
    }
  }

  /**
   * ioredis 6.0's ClusterSubscriberGroup appends every SSUBSCRIBE to its per-slot channel list
   * without looking for the channel there, and resends the whole list when it rebuilds a node's
   * subscriber: after each resubscribe here the list would hold every channel once more, growing
   * with every recovery. Keep one entry per channel (ioredis internals, like `flush`).
   */
  #dedupeShardedChannels(): void {
    const group = this.#shardedGroup();
    if (group?.channels === undefined) return;
    for (const [slot, list] of group.channels) group.channels.set(slot, [...new Set(list)]);
  }

  /**
   * On Cluster, the master whose sharded subscriber carries `slotKey`'s slot now (`host:port`,
   * from the subscriber group's slot map), to compare with the commands client's.
   */
  nodeOf(slotKey: string): string | undefined {
    return this.#shardedGroup()?.clusterSlots?.[clusterSlot(slotKey)]?.[0];
  }

  /** ioredis's internal emitter of the sharded subscriber group (it says `moved` there only). */
  #shardedGroupEvents(): EventEmitter | undefined {
    return (this.sub as unknown as { subscriberGroupEmitter?: EventEmitter })
      .subscriberGroupEmitter;
  }

  #shardedGroup(): ShardedGroupInternals | undefined {
    return (this.sub as unknown as { shardedSubscribers?: ShardedGroupInternals })
      .shardedSubscribers;
  }

  /** Drops the connection; ioredis reconnects by itself, and `connected` follows. */
  reconnect(): void {
    this.sub.disconnect(true);
  }
}
