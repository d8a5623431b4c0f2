/**
 * The relay's recovery state machine (DESIGN.md "Relay recovery", docs/redis.md): the one owner
 * of what this replica has received from Redis. One machine per subscriber connection (on
 * Cluster, the whole sharded subscriber set counts as one connection: a lost node sends it back
 * to `down` and every shard is backfilled).
 *
 * ```
 * down --connected--> subscribing --SUBSCRIBE ok--> backfilling --history read to the end--> live
 *   ^                      |                               |                                  |
 *   +------------- disconnected, or a failed step (same positions, generation + 1) ----------+
 * ```
 *
 * The rules that keep "every event Redis accepted is delivered once, in order" true:
 * - A new generation starts on every (re)connect and every retry; anything an older generation
 *   started (resubscribe, history reads, sync PINGs) is ignored when it completes, and only one
 *   recovery runs at a time (they are chained).
 * - While not live, relayed messages are held. After the backfill has read each shard's history
 *   to its end (reads that began once the subscriptions were confirmed, so every later event is
 *   held), the held messages are released in position order, skipping what the backfill
 *   delivered, and the machine goes live in the same synchronous step.
 * - A shard's last-seen position moves only forward and in order: by a delivered message or
 *   backfilled event, or by a sync point whose PING came back in the same live generation.
 * - Before backfilling a shard, the relay checks that its last-seen position is still in the
 *   shard's history (CHECK_POSITION_SCRIPT). A position that is missing though history would
 *   hold it means history went backwards (failover to a replica that was behind, a restart that
 *   lost writes): the epoch is retired, so clients at the lost positions get `history_lost`.
 *   Wall-clock stream ids and counters the new master can grow past again are never trusted.
 * - History is read on the commands connection, so both connections must reach the same server:
 *   during a Sentinel failover one can be on the new master while the other is still on the
 *   old one (a replica receives the master's messages late, or a stale master takes writes of
 *   its own), and a head read on one server proves nothing about what arrived from the other.
 *   A recovery whose connections reach different servers is retried on a new subscriber
 *   connection; a sync point is only taken while they reach the same one.
 * - History reads here bypass the request-path circuit breaker (DESIGN.md: the subscription is
 *   never behind it); a failed step is retried with backoff from the same positions.
 * - While live, a PING every {@link PROBE_INTERVAL_MS} checks the connection still answers, so a
 *   black-holed path (no reset, packets dropped) is noticed and the connection replaced; each
 *   probe also reads the shards' heads, which recreates a meta hash Redis lost.
 *
 * Why one file past 400 lines: the rules above hold only together (the generation, the held
 * messages and the positions are read and written by every step), and this class is their one
 * owner. Split by step, each part would need the others' state, and the ordering between them,
 * which is what makes delivery exact, would live nowhere. The pure parts are elsewhere
 * (`relay-subscriber.ts`, `channel-cover.ts`, `../relay-skips.ts`, the scripts' codecs).
 */
import {
  comparePositions,
  parseRelayedMessage,
  streamIdToPosition,
  type Cursor,
} from '@ssehub/protocol';
import type { Logger } from 'pino';
import type { BrokerEvent, HistoryPage } from '../broker.js';
import type { SkipDetail, SkipReason } from '../relay-skips.js';

/** Where the machine is; see the diagram above. */
export type RelayState = 'down' | 'subscribing' | 'backfilling' | 'live';

/** What CHECK_POSITION_SCRIPT says about a last-seen position (see its check-position.lua). */
export type PositionVerdict = 'ok' | 'trimmed' | 'backwards' | 'epoch';

/** The verdict on a last-seen position, with the shard's newest position when it is `ok`. */
export interface PositionCheck {
  readonly verdict: PositionVerdict;
  /** The stream's last generated id, as a position of the followed epoch (`ok` only). */
  readonly newest?: Cursor;
}

/** History access for the relay, on the commands connection, never behind the request breaker. */
export interface RelayHistory {
  /** The shard's newest position (recreating a lost meta hash, with the known epoch retired). */
  head(shard: number): Promise<Cursor>;
  /** Whether `seen` is still in the shard's history. */
  check(shard: number, seen: Cursor): Promise<PositionCheck>;
  /** Up to `limit` events after `after`, with the verdict on `after`. */
  readAfter(shard: number, after: Cursor, limit: number): Promise<HistoryPage>;
  /** Retires `epoch` on the shard (history went backwards), unless someone already did. */
  retire(shard: number, epoch: string): Promise<void>;
  /**
   * Records `epoch` among the shard's past epochs in Redis (the shard moved on to another one
   * without this replica retiring it), so cursors of it read as `history_lost`.
   */
  recordPast(shard: number, epoch: string): Promise<void>;
  /**
   * The server the commands connection sends the shard's commands to: its `run_id`, or on
   * Redis Cluster the node that owns the shard's slot in the commands client's slot map.
   */
  serverId(shard: number): Promise<string | undefined>;
}

/** What the relay needs of its subscriber connection (relay-subscriber.ts). */
export interface RelayConnection {
  /** Subscribes every channel again and resolves once Redis confirmed them all. */
  resubscribe(): Promise<void>;
  /**
   * Resolves when a PING sent now on the connection that carries `shard`'s messages comes back:
   * every message published before the call has then arrived. Rejects after the command timeout.
   */
  ping(shard: number): Promise<void>;
  /** Drops the connection so that it reconnects (then `connected()` is called again). */
  reconnect(): void;
  /**
   * The identity (`run_id`) of the server the subscriber connection reaches, asked once per
   * connection before it subscribes (a subscribed connection takes no other command).
   * Undefined where {@link RelayConnection.nodeOf} answers instead.
   */
  serverId(): Promise<string | undefined>;
  /**
   * On Redis Cluster, the node whose sharded subscriber carries the shard's messages now, in
   * the same form as {@link RelayHistory.serverId} (absent elsewhere). Asked at every
   * comparison: slots move without the connection being replaced.
   */
  readonly nodeOf?: (shard: number) => string | undefined;
  /**
   * On Redis Cluster, asks both clients to read the slot map again: when they disagree on a
   * shard's node, nothing else would make them agree while no command is redirected.
   */
  readonly refreshTopology?: () => void;
}

/** Where the relay's results go (the broker forwards them to the gateway's sink). */
export interface RelayOutput {
  /** An event, in position order per shard, exactly once. */
  onEvent(event: BrokerEvent): void;
  /** Live again (or for the first time): new subscriptions may be taken. */
  onUp(): void;
  /** Not live any more: new subscriptions are turned away until `onUp`. */
  onDown(): void;
  /** Events of the shard may be missing and cannot be backfilled: its streams must resume. */
  onGap(shard: number): void;
  /** A relayed message was skipped: it did not parse, or delivering it threw. */
  onSkipped(reason: SkipReason, detail: SkipDetail): void;
}

/** What a {@link Relay} is built from. */
export interface RelayOptions {
  /** History shards of the deployment (`REDIS_SHARDS`). */
  readonly shardCount: number;
  /** The shard that owns a topic. */
  readonly shardOf: (topic: string) => number;
  /** History reads on the commands connection. */
  readonly history: RelayHistory;
  /** The subscriber connection. */
  readonly connection: RelayConnection;
  /** Where events, health changes, gaps and skipped messages go. */
  readonly output: RelayOutput;
  readonly log: Logger;
}

/** Events per backfill read: one script call stays short (64 KiB events: a few ms of Redis time). */
export const BACKFILL_PAGE_SIZE = 200;

/**
 * Held messages' data, in UTF-16 code units, before the held list is dropped. Dropping loses
 * nothing: every held message is in history after the last-seen position, so the backfill takes
 * another pass. Bounds memory while a backfill is slow and publishing is fast.
 */
export const MAX_HELD_CHARS = 32 * 1024 * 1024;

/** How often a live relay checks that its connection still answers, in ms. */
export const PROBE_INTERVAL_MS = 2000;

/**
 * A relayed message whose position is this far past both the gateway's clock and the newest
 * position read from history is not believed on its own word, in ms: it is dropped and the
 * relay backfills from history, which delivers it if it is real. A message claiming an hour
 * ahead would otherwise move the shard's position past every real event for an hour.
 */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** What a held message costs besides its data and topic, in UTF-16 code units (about). */
const HELD_OVERHEAD_CHARS = 128;

/** First retry delay after a failed recovery step, in ms; doubles up to {@link MAX_RETRY_MS}. */
export const FIRST_RETRY_MS = 100;

/** Longest retry delay after failed recovery steps, in ms. */
export const MAX_RETRY_MS = 5000;

/** A failed recovery step is logged at warn at most this often, in ms (the rest at debug). */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/** A sync point or probe asked of a relay that is not live (or stopped being live meanwhile). */
export class RelayNotLiveError extends Error {
  override readonly name = 'RelayNotLiveError';
}

/**
 * The state machine itself: feed it the subscriber connection's events (`connected`,
 * `disconnected`, `message`); it delivers every event once and in order per shard to
 * {@link RelayOutput.onEvent}, and reports when it is live.
 */
export class Relay {
  #state: RelayState = 'down';
  /** Bumped on every connect, disconnect and retry; older work is ignored when it completes. */
  #generation = 0;
  /** Messages received while subscribing or backfilling, in arrival order. */
  #held: BrokerEvent[] = [];
  #heldChars = 0;
  /** The held list was dropped this pass: the backfill must read again. */
  #heldDropped = false;
  /** Per shard, the last position delivered (or proven delivered by a sync point). */
  readonly #lastSeen: (Cursor | undefined)[];
  /** Per shard, epochs this relay left behind: messages still carrying one are stale. */
  readonly #pastEpochs: Set<string>[];
  /** The running recovery; the next one starts after it. */
  #recovery: Promise<void> = Promise.resolve();
  #failures = 0;
  #lastFailureLogAt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #liveWaiters: (() => void)[] = [];
  /** The newest position time read from history (heads, checks, backfills), in ms. */
  #trustedMs = 0;
  #probing = false;
  /** The server the current subscriber connection reaches (undefined: not asked yet, or Cluster). */
  #server: string | undefined;
  /** Whether `#server` was asked on the current subscriber connection. */
  #serverAsked = false;

  constructor(private readonly options: RelayOptions) {
    this.#lastSeen = new Array<Cursor | undefined>(options.shardCount).fill(undefined);
    this.#pastEpochs = Array.from({ length: options.shardCount }, () => new Set<string>());
  }

  get state(): RelayState {
    return this.#state;
  }

  get isLive(): boolean {
    return this.#state === 'live';
  }

  /** The epoch this relay follows on a shard, if it has seen one. */
  knownEpoch(shard: number): string | undefined {
    return this.#lastSeen[shard]?.epoch;
  }

  /** Resolves the first time the relay is live. */
  whenLive(): Promise<void> {
    if (this.#state === 'live') return Promise.resolve();
    return new Promise((resolve) => this.#liveWaiters.push(resolve));
  }

  /** The connection is usable (first connect, reconnect, or a rebuilt Cluster subscriber set). */
  connected(): void {
    if (this.#stopped) return;
    if (this.#state === 'live') this.disconnected(); // rebuilt under us: messages may be missing
    this.#startRecovery();
  }

  /** The connection is gone. */
  disconnected(): void {
    this.#generation += 1;
    this.#server = undefined;
    this.#serverAsked = false;
    const wasLive = this.#state === 'live';
    this.#state = 'down';
    this.#dropHeld();
    this.#stopProbe();
    clearTimeout(this.#retryTimer);
    if (wasLive && !this.#stopped) this.options.output.onDown();
  }

  /** Stops for good: nothing more is delivered or retried. */
  stop(): void {
    this.#stopped = true;
    this.disconnected();
  }

  /** A raw message from the subscriber connection. Never throws. */
  message(channel: string, raw: string): void {
    const parsed = parseRelayedMessage(raw);
    if (!parsed.ok) {
      this.options.output.onSkipped(parsed.reason, { channel });
      return;
    }
    const m = parsed.message;
    const shard = this.options.shardOf(m.topic);
    const position = streamIdToPosition(m.streamId); // validated by the parser: cannot throw
    const event: BrokerEvent = {
      topic: m.topic,
      event: m.event,
      data: m.data,
      publishedAt: position.ms,
      cursor: { epoch: m.epoch, shard, position },
    };
    switch (this.#state) {
      case 'live':
        if (this.#isBelievable(event)) this.#deliverLive(event);
        else this.#verify(event, 'a position far ahead of every clock');
        return;
      case 'subscribing':
      case 'backfilling':
        this.#hold(event);
        return;
      case 'down':
        // Not subscribed any more as far as this generation knows; the backfill reads it.
        return;
    }
  }

  /**
   * A position L of the shard such that every event at or below L on the subscribed channels
   * has been delivered: the shard's head, once a PING sent after reading it has come back in
   * the same live generation (one connection delivers in order). Moves last-seen to L, so a
   * later backfill need not read those events again.
   *
   * @throws {@link RelayNotLiveError} when the relay is not live, or stops being live meanwhile.
   */
  async syncPoint(shard: number): Promise<Cursor> {
    const generation = this.#requireLive();
    const apart = await this.#serversApart(shard);
    this.#requireLive(generation);
    if (apart !== undefined) {
      throw new RelayNotLiveError(
        `the commands and subscriber connections reach different servers (${apart}); a failover under way?`,
      );
    }
    const head = await this.options.history.head(shard);
    this.#requireLive(generation);
    await this.options.connection.ping(shard);
    this.#requireLive(generation);
    const seen = this.#lastSeen[shard];
    if (seen === undefined || seen.epoch !== head.epoch) {
      // The shard's epoch moved without a message reaching us, or went back to one this relay
      // left (a failover lost the move): recheck from history, which signals the gap, records
      // the epoch left behind and retires a returned one, in one place.
      if (seen !== undefined) {
        this.#recheck();
        throw new RelayNotLiveError('the relay is rechecking its positions');
      }
      this.#lastSeen[shard] = head;
      return head;
    }
    this.#trust(head);
    const order = comparePositions(head.position, seen.position);
    if (order > 0) {
      this.#lastSeen[shard] = head;
      return head;
    }
    if (order < 0) {
      // Impossible on a healthy master: the head went below what was delivered (history went
      // backwards without a reconnect, or the connections reach different servers). Recheck.
      this.options.log.warn(
        { shard, head: head.position, seen: seen.position },
        'the shard head is below the position the relay delivered; rechecking from history',
      );
      this.#recheck();
      throw new RelayNotLiveError('the relay is rechecking its positions');
    }
    return seen;
  }

  #requireLive(generation?: number): number {
    if (this.#state !== 'live' || (generation !== undefined && generation !== this.#generation)) {
      throw new RelayNotLiveError('the relay is not live (its connection is down or recovering)');
    }
    return this.#generation;
  }

  #startRecovery(): void {
    this.#generation += 1;
    const generation = this.#generation;
    this.#state = 'subscribing';
    this.#dropHeld();
    this.#heldDropped = false;
    this.#stopProbe();
    clearTimeout(this.#retryTimer);
    this.#recovery = this.#recovery
      .then(() => this.#recover(generation))
      .catch((err: unknown) => {
        // A bug, not Redis trouble (those are handled inside): keep the chain usable, retry.
        this.options.log.error({ err }, 'relay recovery threw; retrying');
        if (this.#current(generation)) this.#failed('backfill', err, false);
      });
  }

  #current(generation: number): boolean {
    return generation === this.#generation && !this.#stopped;
  }

  #liveIn(generation: number): boolean {
    return this.#current(generation) && this.#state === 'live';
  }

  /** Held messages were dropped during this pass (a method: the flag changes across awaits). */
  #mustReadAgain(): boolean {
    return this.#heldDropped;
  }

  async #recover(generation: number): Promise<void> {
    if (!this.#current(generation)) return;
    try {
      if (!this.#serverAsked) {
        this.#server = await this.options.connection.serverId();
        this.#serverAsked = true;
        if (!this.#current(generation)) return;
      }
      await this.options.connection.resubscribe();
    } catch (err) {
      // A SUBSCRIBE that fails or times out means the connection itself is in trouble.
      if (this.#current(generation)) this.#failed('resubscribe', err, true);
      return;
    }
    if (!this.#current(generation)) return;
    this.#state = 'backfilling';
    try {
      for (let shard = 0; shard < this.options.shardCount; shard++) {
        const apart = await this.#serversApart(shard);
        if (!this.#current(generation)) return;
        if (apart === undefined) continue;
        // Sentinel: ask for the master again on a new subscriber connection (the commands
        // connection follows the failover by itself). Cluster: the slot maps converge on
        // their own; retry.
        const err = new Error(`the commands and subscriber connections reach ${apart}`);
        this.options.connection.refreshTopology?.();
        this.#failed('resubscribe', err, this.options.connection.nodeOf === undefined);
        return;
      }
    } catch (err) {
      if (this.#current(generation)) this.#failed('backfill', err, false);
      return;
    }
    try {
      do {
        this.#heldDropped = false;
        for (let shard = 0; shard < this.options.shardCount; shard++) {
          if (!(await this.#backfill(shard, generation))) return;
        }
      } while (this.#mustReadAgain());
    } catch (err) {
      // History unreadable (commands connection down, breaker-free timeout): retry the whole
      // recovery on the same connection from the same positions.
      if (this.#current(generation)) this.#failed('backfill', err, false);
      return;
    }
    if (!this.#current(generation)) return;
    this.#goLive();
  }

  /** Backfills one shard after its last-seen position. False when a newer generation took over. */
  async #backfill(shard: number, generation: number): Promise<boolean> {
    const { history } = this.options;
    const seen = this.#lastSeen[shard];
    if (seen === undefined) {
      // First connect: nothing was subscribed before, so nothing can have been missed.
      const head = await history.head(shard);
      if (!this.#current(generation)) return false;
      this.#lastSeen[shard] = head;
      this.#trust(head);
      return true;
    }
    const { verdict, newest } = await history.check(shard, seen);
    if (!this.#current(generation)) return false;
    if (verdict !== 'ok') return this.#gap(shard, seen, verdict, generation);
    if (newest !== undefined) this.#trust(newest);
    // Nothing was added since: no read (with HISTORY_SIZE=0 a read would say `trimmed`).
    if (newest !== undefined && comparePositions(newest.position, seen.position) === 0) return true;
    let after = seen;
    for (;;) {
      const page = await history.readAfter(shard, after, BACKFILL_PAGE_SIZE);
      if (!this.#current(generation)) return false;
      if (page.verdict !== 'ok') {
        // `unknown` in the followed epoch: the position is above the newest id now, so history
        // went backwards between the check and this read.
        const why =
          page.verdict === 'trimmed'
            ? 'trimmed'
            : page.verdict === 'unknown'
              ? 'backwards'
              : 'epoch';
        return this.#gap(shard, after, why, generation);
      }
      for (const event of page.events) {
        this.#lastSeen[shard] = event.cursor;
        this.#emit(event);
      }
      const last = page.events.at(-1);
      if (page.done || last === undefined) return true;
      after = last.cursor;
    }
  }

  /**
   * The shard's history cannot bridge from `seen`: retire the epoch when history went
   * backwards, follow the shard from its head, and have its streams resume (they get the reset
   * that says why).
   */
  async #gap(
    shard: number,
    seen: Cursor,
    verdict: Exclude<PositionVerdict, 'ok'>,
    generation: number,
  ): Promise<boolean> {
    const { history, log } = this.options;
    if (verdict === 'backwards') await history.retire(shard, seen.epoch);
    if (!this.#current(generation)) return false;
    let head = await history.head(shard);
    if (!this.#current(generation)) return false;
    if (head.epoch !== seen.epoch && this.#pastEpochs[shard]?.has(head.epoch) === true) {
      // An epoch this relay left is the shard's epoch again: the server that recorded the move
      // is gone (a failover to a node that never received it: a split brain, or a replica that
      // was behind twice), and this one may issue again positions of that epoch that clients
      // already hold. Retire it once more, on this server.
      log.warn(
        { shard, returned: head.epoch, followed: seen.epoch },
        'an epoch this replica left is current again (a failover lost its retirement); retiring it again',
      );
      await history.retire(shard, head.epoch);
      if (!this.#current(generation)) return false;
      head = await history.head(shard);
      if (!this.#current(generation)) return false;
    }
    log.warn(
      { shard, verdict, seen: seen.position, head: head.position, epoch: head.epoch },
      verdict === 'backwards'
        ? 'history went backwards (failover to a replica that was behind?): epoch retired, streams of the shard resume'
        : 'events missed while the relay was down cannot be backfilled; streams of the shard resume',
    );
    if (head.epoch !== seen.epoch) {
      this.#newEpoch(shard, seen.epoch);
      if (verdict !== 'backwards') await history.recordPast(shard, seen.epoch);
      if (!this.#current(generation)) return false;
    }
    this.#notifyGap(shard);
    this.#lastSeen[shard] = head;
    this.#trust(head);
    return true;
  }

  #goLive(): void {
    const held = this.#held;
    this.#dropHeld();
    // Arrival order is position order within a shard; sort by shard only, stably.
    held.sort((a, b) => a.cursor.shard - b.cursor.shard);
    this.#state = 'live';
    this.#failures = 0;
    for (const event of held) this.#deliverLive(event);
    if (!this.isLive) return; // a held message sent it back to recheck
    this.#startProbe(this.#generation);
    this.#notify(() => {
      this.options.output.onUp();
    });
    for (const resolve of this.#liveWaiters.splice(0)) resolve();
  }

  #deliverLive(event: BrokerEvent): void {
    const shard = event.cursor.shard;
    const seen = this.#lastSeen[shard];
    if (seen !== undefined && seen.epoch !== event.cursor.epoch) {
      if (this.#pastEpochs[shard]?.has(event.cursor.epoch) === true) return; // stale
      // Another epoch, on a message's word only: a replica that noticed a data loss first, or
      // a message ssehub did not write. The position check tells which.
      this.#verify(event, 'another epoch than the one followed');
      return;
    }
    // At or below last-seen: already delivered (a channel cover change, or the backfill).
    if (seen !== undefined && comparePositions(event.cursor.position, seen.position) <= 0) return;
    this.#lastSeen[shard] = event.cursor;
    this.#emit(event);
  }

  #emit(event: BrokerEvent): void {
    try {
      this.options.output.onEvent(event);
    } catch (err) {
      // One bad event must not stop the relay (SPEC 9): counted, logged (rate limited), and
      // since some of its recipients may not have got it, the shard's streams resume.
      this.options.output.onSkipped('dispatch', { err });
      this.#notifyGap(event.cursor.shard);
    }
  }

  /** Undefined when both connections reach the same server for the shard, else the two servers. */
  async #serversApart(shard: number): Promise<string | undefined> {
    const subscriber = this.options.connection.nodeOf?.(shard) ?? this.#server;
    if (subscriber === undefined) return undefined;
    const commands = await this.options.history.serverId(shard);
    if (commands === undefined || commands === subscriber) return undefined;
    return `${commands} and ${subscriber}`;
  }

  /** True unless the event claims a position far past both clocks (see FUTURE_TOLERANCE_MS). */
  #isBelievable(event: BrokerEvent): boolean {
    return event.cursor.position.ms <= Math.max(Date.now(), this.#trustedMs) + FUTURE_TOLERANCE_MS;
  }

  /** Drops a message that cannot be taken on its word and backfills: history has it if it is real. */
  #verify(event: BrokerEvent, why: string): void {
    this.options.log.warn(
      {
        shard: event.cursor.shard,
        epoch: event.cursor.epoch,
        position: event.cursor.position,
        why,
      },
      'a relayed message is not believed on its own word; checking the shard against history',
    );
    this.#recheck();
  }

  /** Leaves live for a recovery on the same connection (positions kept), as after a reconnect. */
  #recheck(): void {
    if (this.#state === 'live') {
      this.#state = 'down';
      this.#stopProbe();
      this.#notify(() => {
        this.options.output.onDown();
      });
    }
    this.#startRecovery();
  }

  #trust(cursor: Cursor): void {
    if (cursor.position.ms > this.#trustedMs) this.#trustedMs = cursor.position.ms;
  }

  #notifyGap(shard: number): void {
    this.#notify(() => {
      this.options.output.onGap(shard);
    });
  }

  /** Runs a sink callback; a throw there is logged and never breaks the state machine. */
  #notify(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.options.log.error({ err }, 'a relay listener threw');
    }
  }

  #newEpoch(shard: number, left: string): void {
    this.#pastEpochs[shard]?.add(left);
  }

  #hold(event: BrokerEvent): void {
    this.#heldChars += event.data.length + event.topic.length + HELD_OVERHEAD_CHARS;
    if (this.#heldChars > MAX_HELD_CHARS) {
      this.#dropHeld();
      this.#heldDropped = true;
      return;
    }
    this.#held.push(event);
  }

  #dropHeld(): void {
    this.#held = [];
    this.#heldChars = 0;
  }

  #failed(step: 'resubscribe' | 'backfill', err: unknown, reconnect: boolean): void {
    this.#failures += 1;
    const delayMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.#failures - 1));
    const now = Date.now();
    const level = now - this.#lastFailureLogAt >= FAILURE_LOG_INTERVAL_MS ? 'warn' : 'debug';
    if (level === 'warn') this.#lastFailureLogAt = now;
    this.options.log[level](
      { err, step, failures: this.#failures, retryInMs: delayMs },
      'relay recovery failed; retrying from the same positions',
    );
    const generation = this.#generation;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(
      () => {
        if (!this.#current(generation)) return;
        if (reconnect) this.options.connection.reconnect();
        else this.#startRecovery();
      },
      delayMs * (0.75 + Math.random() * 0.5),
    );
    this.#retryTimer.unref();
  }

  #startProbe(generation: number): void {
    this.#stopProbe();
    const timer = setInterval(() => {
      void this.#probe(generation);
    }, PROBE_INTERVAL_MS);
    timer.unref();
    this.#probeTimer = timer;
  }

  #stopProbe(): void {
    clearInterval(this.#probeTimer);
    this.#probeTimer = undefined;
  }

  async #probe(generation: number): Promise<void> {
    if (this.#probing || !this.#liveIn(generation)) return;
    this.#probing = true;
    try {
      // Reading the heads also notices a meta hash Redis lost (FLUSHALL, a restart without
      // persistence) and recreates it with this gateway's settings within one interval, so
      // publishers waiting for a gateway to initialise the deployment wait seconds, not a
      // heartbeat interval. Read beside the PINGs, not before them: a slow commands path must
      // not delay noticing a dead subscriber, and its failure is not the relay's.
      // A head in another epoch than the one followed means the shard moved (or went back to
      // an epoch this relay left) without a message that says so reaching this connection:
      // messages of a left epoch are dropped as stale, so only this notices it.
      for (let shard = 0; shard < this.options.shardCount; shard++) {
        this.options.history
          .head(shard)
          .then((head) => {
            const followed = this.#lastSeen[shard]?.epoch;
            if (!this.#liveIn(generation) || followed === undefined || followed === head.epoch) {
              return;
            }
            this.options.log.warn(
              { shard, followed, head: head.epoch },
              'the shard is in another epoch than the one the relay follows; rechecking from history',
            );
            this.#recheck();
          })
          .catch(() => undefined);
      }
      for (let shard = 0; shard < this.options.shardCount; shard++) {
        await this.options.connection.ping(shard);
      }
    } catch (err) {
      if (this.#liveIn(generation)) {
        this.options.log.warn(
          { err },
          'the relay connection does not answer; reconnecting (events missed meanwhile are backfilled)',
        );
        this.options.connection.reconnect();
      }
    } finally {
      this.#probing = false;
    }
  }
}
