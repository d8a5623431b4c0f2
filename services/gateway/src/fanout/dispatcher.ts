/**
 * Fan-out: each broker event is matched once, encoded once per shard set (and once more in the
 * envelope form, only if some recipient asked for it), then every recipient gets a write
 * (DESIGN.md "Hot path", STYLE.md A5). Also keeps the per-shard watermarks that ids are built
 * from: since one process dispatches each shard in order, the watermark vector over the shards a
 * connection covers is a valid resume cursor for it (DESIGN.md "Shards, ids and history").
 */
import {
  PatternMatcher,
  comparePositions,
  encodeEnvelope,
  encodeEventId,
  encodeFrame,
  type Cursor,
} from '@ssehub/protocol';
import type { BrokerEvent } from '../broker/broker.js';
import type { Metrics } from '../observability/metrics.js';
import type { SseConnection } from '../sse/sse-connection.js';

export class Dispatcher {
  readonly #matcher = new PatternMatcher<SseConnection>();
  readonly #watermarks: (Cursor | undefined)[];
  /** Id of each shard set at the current watermarks; cleared whenever a watermark moves. */
  readonly #idCache = new Map<string, string>();
  readonly #recipients = new Set<SseConnection>();

  constructor(
    shardCount: number,
    private readonly metrics: Metrics,
  ) {
    this.#watermarks = new Array<Cursor | undefined>(shardCount).fill(undefined);
  }

  /** The last position dispatched (or synced) on a shard. */
  watermark(shard: number): Cursor | undefined {
    return this.#watermarks[shard];
  }

  /** Moves a shard's watermark forward (never back within an epoch); a new epoch replaces it. */
  advance(cursor: Cursor): boolean {
    const current = this.#watermarks[cursor.shard];
    if (
      current !== undefined &&
      current.epoch === cursor.epoch &&
      comparePositions(cursor.position, current.position) <= 0
    ) {
      return false;
    }
    this.#watermarks[cursor.shard] = cursor;
    this.#idCache.clear();
    return true;
  }

  /** Starts routing events to a connection (held until it goes live). */
  add(conn: SseConnection): void {
    for (const pattern of conn.patterns) this.#matcher.add(pattern, conn);
  }

  remove(conn: SseConnection): void {
    for (const pattern of conn.patterns) this.#matcher.remove(pattern, conn);
  }

  /** Number of (connection, pattern) entries: the `ssehub_subscriptions` gauge. */
  get subscriptions(): number {
    return this.#matcher.size;
  }

  onEvent(event: BrokerEvent): void {
    // Duplicates can arrive while the Redis relay changes its channel cover; ids on one shard
    // only grow, so anything at or below the watermark was already dispatched (DESIGN.md).
    if (!this.advance(event.cursor)) {
      this.metrics.duplicateEventsDropped.inc();
      return;
    }
    this.metrics.eventsReceived.inc();
    this.metrics.relayLag.observe(Math.max(0, Date.now() - event.publishedAt) / 1000);
    const recipients = this.#matcher.match(event.topic, this.#recipients);
    if (recipients.size === 0) return;
    let delivered: number;
    try {
      delivered = this.#fanOut(recipients, event);
    } finally {
      recipients.clear();
    }
    this.metrics.eventsDelivered.inc(delivered);
  }

  #fanOut(recipients: ReadonlySet<SseConnection>, event: BrokerEvent): number {
    let plain: Map<string, string> | undefined;
    let enveloped: Map<string, string> | undefined;
    let envelopeData: string | undefined;
    let delivered = 0;
    for (const conn of recipients) {
      if (conn.state !== 'live') {
        if (conn.state !== 'closed') conn.hold(event);
        continue;
      }
      let frame: string | undefined;
      if (conn.floor !== undefined) {
        frame = this.#frameAboveFloor(conn, event);
        if (frame === undefined) continue;
      } else if (conn.envelope) {
        enveloped ??= new Map();
        frame = enveloped.get(conn.shardKey);
        if (frame === undefined) {
          envelopeData ??= envelopeOf(event);
          frame = encodeFrame({ id: this.idFor(conn), event: event.event, data: envelopeData });
          enveloped.set(conn.shardKey, frame);
        }
      } else {
        plain ??= new Map();
        frame = plain.get(conn.shardKey);
        if (frame === undefined) {
          frame = encodeFrame({ id: this.idFor(conn), event: event.event, data: event.data });
          plain.set(conn.shardKey, frame);
        }
      }
      if (conn.send(frame)) {
        conn.delivered += 1;
        delivered += 1;
      }
    }
    return delivered;
  }

  /**
   * The id a connection's next frame carries: the watermark vector over its shards, or, where
   * it has been sent more than the watermark, its own positions.
   */
  idFor(conn: SseConnection): string {
    if (conn.floor !== undefined) return encodeEventId(this.positionsOf(conn));
    const cached = this.#idCache.get(conn.shardKey);
    if (cached !== undefined) return cached;
    const id = encodeEventId(this.positionsOf(conn));
    this.#idCache.set(conn.shardKey, id);
    return id;
  }

  /** Per shard of a connection: its floor where that is ahead of the watermark, else the watermark. */
  positionsOf(conn: SseConnection): Cursor[] {
    const out: Cursor[] = [];
    for (const shard of conn.shards) {
      const mark = this.#watermarks[shard];
      const floor = conn.floor?.get(shard);
      const ahead =
        floor !== undefined &&
        (mark === undefined ||
          (floor.epoch === mark.epoch && comparePositions(floor.position, mark.position) > 0));
      const pick = ahead ? floor : mark;
      if (pick !== undefined) out.push(pick);
    }
    return out;
  }

  /** Drops floor entries the watermark has caught up with; the connection then shares frames again. */
  settleFloor(conn: SseConnection): void {
    const floor = conn.floor;
    if (floor === undefined) return;
    for (const [shard, cursor] of floor) {
      const mark = this.#watermarks[shard];
      if (
        mark !== undefined &&
        (mark.epoch !== cursor.epoch || comparePositions(mark.position, cursor.position) >= 0)
      ) {
        floor.delete(shard);
      }
    }
    if (floor.size === 0) conn.floor = undefined;
  }

  #frameAboveFloor(conn: SseConnection, event: BrokerEvent): string | undefined {
    const floor = conn.floor?.get(event.cursor.shard);
    if (
      floor !== undefined &&
      floor.epoch === event.cursor.epoch &&
      comparePositions(event.cursor.position, floor.position) <= 0
    ) {
      return undefined; // already sent by the replay
    }
    this.settleFloor(conn);
    const data = conn.envelope ? envelopeOf(event) : event.data;
    return encodeFrame({ id: this.idFor(conn), event: event.event, data });
  }
}

export function envelopeOf(event: BrokerEvent): string {
  return encodeEnvelope({
    topic: event.topic,
    event: event.event,
    data: event.data,
    publishedAt: event.publishedAt,
  });
}
