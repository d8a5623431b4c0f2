/**
 * The replica's one subscriber connection (STYLE.md A8, DESIGN.md "ioredis details"):
 * - channels are reference-counted from local interests, with one pending promise per channel,
 *   so a second interest in a channel whose SUBSCRIBE is in flight waits for the same
 *   confirmation; subscribe and unsubscribe of one channel are serialized;
 * - `autoResubscribe: false`: after a reconnect it resubscribes itself, awaits the replies, then
 *   backfills each shard from history after the last id it received, holding live messages
 *   meanwhile, so every event Redis accepted is delivered once and in order;
 * - malformed messages (written by something else) are counted and skipped.
 */
import { parseRelayedMessage, streamIdToPosition, type RelayedMessage } from '@ssehub/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

interface ChannelState {
  count: number;
  /** The last subscribe/unsubscribe of this channel; the next one chains after it. */
  op: Promise<void>;
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
  readonly #channels = new Map<string, ChannelState>();
  #holding: RelayedMessage[] | undefined;
  #up = false;
  #everUp = false;

  constructor(
    private readonly sub: Redis,
    private readonly handlers: RelayHandlers,
    private readonly log: Logger,
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

  /** Subscribes the channels (those not yet held); resolves once Redis confirmed every one. */
  async acquire(channels: readonly string[]): Promise<void> {
    await Promise.all(
      channels.map((channel) => {
        let state = this.#channels.get(channel);
        if (state === undefined) {
          state = { count: 0, op: Promise.resolve() };
          this.#channels.set(channel, state);
        }
        state.count += 1;
        if (state.count === 1) {
          state.op = state.op.then(() => this.sub.subscribe(channel).then(() => undefined));
        }
        return state.op;
      }),
    );
  }

  /** Gives the channels back; the last holder unsubscribes (so Redis stops sending them here). */
  release(channels: readonly string[]): void {
    for (const channel of channels) {
      const state = this.#channels.get(channel);
      if (state === undefined) continue;
      state.count -= 1;
      if (state.count > 0) continue;
      state.op = state.op
        .then(async () => {
          // Someone took it again while we waited: keep it.
          if (state.count > 0) return;
          this.#channels.delete(channel);
          if (this.#up) await this.sub.unsubscribe(channel);
        })
        .catch((err: unknown) => {
          this.log.debug({ err, channel }, 'unsubscribe failed (the connection is down)');
        });
    }
  }

  /**
   * A position L has reached us when a PING sent now comes back: one connection delivers in
   * order, so every message published before L's read arrived before the PONG (DESIGN.md).
   */
  async flush(): Promise<void> {
    await this.sub.ping();
  }

  async #recover(): Promise<void> {
    this.#holding = [];
    try {
      await Promise.all([...this.#channels.keys()].map((c) => this.sub.subscribe(c)));
      await this.handlers.onReconnected();
      const held = this.#holding;
      this.#holding = undefined;
      this.#up = true;
      for (const message of held) this.handlers.onMessage(message);
      this.log.info({ channels: this.#channels.size }, 'relay resubscribed and backfilled');
    } catch (err) {
      this.#holding = undefined;
      this.log.warn({ err }, 'relay recovery failed; retrying on the next reconnect');
      this.sub.disconnect(true);
    }
  }
}

/** Orders two stream ids; for backfill bookkeeping. */
export function isAfter(a: string, b: string): boolean {
  const pa = streamIdToPosition(a);
  const pb = streamIdToPosition(b);
  return pa.ms > pb.ms || (pa.ms === pb.ms && pa.seq > pb.seq);
}
