/**
 * The periodic walk over open streams: heartbeats on idle streams, the age limit, and the
 * replica-wide cap on unsent bytes. One timer for the whole replica instead of one per stream.
 */
import { encodeFrame } from '@ssehub/protocol';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { Metrics } from '../observability/metrics.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { Dispatcher } from './dispatcher.js';
import type { SseConnection } from '../sse/sse-connection.js';

export interface MaintenanceOptions {
  /** Idle time after which a stream gets a heartbeat, in ms (`HEARTBEAT_MS`). */
  readonly heartbeatMs: number;
  /** Unsent bytes summed over streams before the largest are closed (`MAX_TOTAL_BUFFERED_BYTES`). */
  readonly maxTotalBufferedBytes: number;
}

export interface MaintenanceDeps {
  readonly broker: Broker;
  readonly dispatcher: Dispatcher;
  readonly registry: ConnectionRegistry;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/** The heartbeat's comment line: visible in `curl -N`, ignored by EventSource. */
const HEARTBEAT_COMMENT = '';

export class Maintenance {
  #timer: NodeJS.Timeout | undefined;
  #lastSyncAt = 0;
  #syncing = false;

  constructor(
    private readonly options: MaintenanceOptions,
    private readonly deps: MaintenanceDeps,
  ) {}

  /** Tick often enough that a heartbeat is at most a quarter interval (and 1 s) late. */
  get tickMs(): number {
    return Math.max(25, Math.min(1000, Math.floor(this.options.heartbeatMs / 4)));
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      this.tick(Date.now());
    }, this.tickMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  tick(now: number): void {
    if (now - this.#lastSyncAt >= this.options.heartbeatMs) {
      this.#lastSyncAt = now;
      void this.#syncWatermarks();
    }
    const { registry, dispatcher } = this.deps;
    let totalBuffered = 0;
    for (const conn of registry) {
      if (conn.state === 'closed') continue;
      if (now >= conn.expiresAt) {
        conn.close('max_age');
        continue;
      }
      if (now - conn.lastWriteAt >= this.options.heartbeatMs) this.#heartbeat(conn, dispatcher);
      // Replaying streams hold at most a page and are paced, not cut off (SPEC 5): only live
      // streams count towards the cap and can be shed.
      if (conn.state === 'live') totalBuffered += conn.bufferedBytes;
    }
    if (totalBuffered > this.options.maxTotalBufferedBytes) this.#shedLargest(totalBuffered);
  }

  /**
   * Live streams get `:` plus an `id:`-only block carrying their position, so a quiet
   * subscriber's Last-Event-ID keeps up with history (SPEC 3). A replaying stream is not idle
   * (its replay is writing, or waiting for the client to read), so it gets none.
   */
  #heartbeat(conn: SseConnection, dispatcher: Dispatcher): void {
    if (conn.state !== 'live') return;
    dispatcher.settleFloor(conn);
    const positions = dispatcher.positionsOf(conn);
    const id = positions.length > 0 ? dispatcher.idFor(conn) : undefined;
    conn.send(encodeFrame({ comment: HEARTBEAT_COMMENT, id }));
  }

  /**
   * Once per heartbeat interval and shard, move the watermark to the broker's sync point, so
   * ids advance even when this replica receives none of a shard's events (DESIGN.md).
   */
  async #syncWatermarks(): Promise<void> {
    if (this.#syncing) return;
    this.#syncing = true;
    const { broker, dispatcher, log } = this.deps;
    try {
      for (let shard = 0; shard < broker.shardCount; shard++) {
        if (!broker.isUp()) return;
        dispatcher.advance(await broker.syncPoint(shard));
      }
    } catch (err) {
      log.debug({ err }, 'watermark sync failed; retrying next interval');
    } finally {
      this.#syncing = false;
    }
  }

  /** Past the replica-wide cap, the streams holding the most unsent bytes go first (SPEC 10). */
  #shedLargest(total: number): void {
    const bySize = [...this.deps.registry]
      .filter((c) => c.state === 'live' && c.bufferedBytes > 0)
      .sort((a, b) => b.bufferedBytes - a.bufferedBytes);
    let remaining = total;
    for (const conn of bySize) {
      if (remaining <= this.options.maxTotalBufferedBytes) return;
      remaining -= conn.bufferedBytes;
      conn.close('total_buffer_exceeded');
    }
  }
}
