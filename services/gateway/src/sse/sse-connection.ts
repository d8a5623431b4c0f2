/**
 * One open SSE stream: owns its response, writes frames with a bound on unsent bytes, and
 * releases everything in one `close(reason)` whatever the reason (STYLE.md A6, and "what to
 * avoid" 7). While the stream is opening or replaying history, live events are held in a
 * bounded buffer so the hand-off to live loses nothing (DESIGN.md "Resume without gap").
 */
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { Cursor, Pattern } from '@ssehub/protocol';
import type { BrokerEvent, Interest } from '../broker/broker.js';
import type { CloseReason } from './close-reason.js';

export type SseResponse = ServerResponse | Http2ServerResponse;

/** Closes after which the unsent bytes are dropped with the socket instead of flushed. */
const DISCARDS_UNSENT: ReadonlySet<CloseReason> = new Set<CloseReason>([
  'slow_consumer',
  'total_buffer_exceeded',
  'send_failed',
]);

/** opening: head not written yet; replaying: head written, history being sent; live: fan-out writes directly. */
export type ConnectionState = 'opening' | 'replaying' | 'live' | 'closed';

export interface SseConnectionInit {
  readonly id: string;
  readonly patterns: readonly Pattern[];
  /** Shards the patterns can touch, ascending. */
  readonly shards: readonly number[];
  /** Wrap data in the JSON envelope (SPEC 4 `envelope=1`). */
  readonly envelope: boolean;
  /** Client address (after TRUST_PROXY). */
  readonly ip: string;
  /** Authenticated subject, when there is one. */
  readonly subject: string | undefined;
  /** Unsent bytes above which a live stream is closed as a slow consumer (`MAX_BUFFERED_BYTES`). */
  readonly maxBufferedBytes: number;
  /** When the stream must be closed for age, in ms since the Unix epoch; Infinity when off. */
  readonly expiresAt: number;
  /** Called once, after the stream is closed, to release registry entries and slots. */
  readonly onClosed: (conn: SseConnection, reason: CloseReason) => void;
}

export class SseConnection {
  readonly id: string;
  readonly patterns: readonly Pattern[];
  readonly shards: readonly number[];
  /** Identifies the shard set; connections with equal keys share frames. */
  readonly shardKey: string;
  readonly envelope: boolean;
  readonly ip: string;
  readonly subject: string | undefined;
  readonly openedAt = Date.now();
  readonly expiresAt: number;

  state: ConnectionState = 'opening';
  /** Last time anything was written, in ms since the Unix epoch (drives heartbeats). */
  lastWriteAt = Date.now();
  /** Events delivered to this stream so far. */
  delivered = 0;
  /** The interest taken for this stream's patterns; released on close. */
  interest: Interest | undefined;
  /**
   * Per shard, the newest position this stream has been sent when it is above the shared
   * watermark (after a replay read further than the relay had delivered). Live events at or
   * below it are skipped and ids use it, so the client's cursor never moves backwards.
   */
  floor: Map<number, Cursor> | undefined;

  /** Live events that arrived while opening or replaying. */
  pending: BrokerEvent[] = [];
  #pendingBytes = 0;
  /** Incremented each time `pending` overflowed and was dropped (those events are in history). */
  overflows = 0;

  #res: SseResponse | undefined;
  readonly #maxBufferedBytes: number;
  readonly #onClosed: SseConnectionInit['onClosed'];
  #corked = false;
  /** Unsent bytes when the current cork began (the burst of this event-loop turn is not "unsent" yet). */
  #unsentAtCork = 0;

  constructor(init: SseConnectionInit) {
    this.id = init.id;
    this.patterns = init.patterns;
    this.shards = init.shards;
    this.shardKey = init.shards.join(',');
    this.envelope = init.envelope;
    this.ip = init.ip;
    this.subject = init.subject;
    this.expiresAt = init.expiresAt;
    this.#maxBufferedBytes = init.maxBufferedBytes;
    this.#onClosed = init.onClosed;
  }

  isClosed(): boolean {
    return this.state === 'closed';
  }

  /**
   * Bytes written to the response that the socket has not taken yet, read live (a value cached
   * at the last write would go stale once the socket drains, and the replica-wide cap would then
   * close streams that hold nothing).
   */
  get bufferedBytes(): number {
    return this.#res?.writableLength ?? 0;
  }

  /** Takes over the response: writes the head and the first chunk in one go. */
  attach(res: SseResponse, headers: Readonly<Record<string, string>>, firstChunk: string): void {
    this.#res = res;
    res.writeHead(200, headers);
    this.#write(firstChunk);
  }

  /** Holds a live event until the hand-off; drops the buffer when it passes the byte bound. */
  hold(event: BrokerEvent): void {
    this.pending.push(event);
    this.#pendingBytes += event.data.length + 64;
    if (this.#pendingBytes > this.#maxBufferedBytes) {
      // Every held event is already in history: the replay loop reads it again (DESIGN.md).
      this.pending = [];
      this.#pendingBytes = 0;
      this.overflows += 1;
    }
  }

  /** Takes the held events (for the hand-off to live). */
  takePending(): BrokerEvent[] {
    const held = this.pending;
    this.pending = [];
    this.#pendingBytes = 0;
    return held;
  }

  /**
   * Writes a live frame. Returns true when it was accepted (sent or queued), false when the
   * stream was closed instead, because the client is not reading fast enough (SPEC 10 slow
   * consumers) or the write failed.
   */
  send(frame: string): boolean {
    if (this.state === 'closed') return false;
    const res = this.#res;
    if (res === undefined) return false;
    // What was left over from earlier turns: frames written in this turn sit in the cork
    // until the next tick, so a fast reader receiving a burst (a 1000-event batch) is not slow.
    const unsent = this.#corked ? this.#unsentAtCork : res.writableLength;
    if (unsent > this.#maxBufferedBytes) {
      this.close('slow_consumer');
      return false;
    }
    this.#coalesce(res);
    this.#write(frame);
    return !this.isClosed();
  }

  /**
   * Writes a replay chunk without the slow-consumer bound: replay is paced by the socket
   * instead (SPEC 5). Resolves once the socket has room again, or the stream closed. A client
   * that takes nothing for `stallMs` has stopped reading, not fallen behind: it is closed as a
   * slow consumer, so it does not hold its socket and slot forever.
   */
  async sendPaced(chunk: string, stallMs: number): Promise<void> {
    const res = this.#res;
    if (this.state === 'closed' || res === undefined) return;
    if (this.#write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(stall);
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      const stall = setTimeout(() => {
        done();
        this.close('slow_consumer');
      }, stallMs);
      res.on('drain', done);
      res.on('close', done);
    });
  }

  /** Ends the stream (idempotent). The response head already says `connection: close` on HTTP/1.1. */
  close(reason: CloseReason): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.pending = [];
    const res = this.#res;
    if (res !== undefined && !res.writableEnded) {
      try {
        res.end();
      } catch {
        // The socket is already gone; nothing left to end.
      }
      if (reason !== 'client_closed') closeHttp2Session(res);
    }
    // end() queues the end behind the unsent bytes, which a client that stopped reading never
    // takes: drop them and the socket, or the memory MAX_(TOTAL_)BUFFERED_BYTES bounds stays held.
    if (res !== undefined && DISCARDS_UNSENT.has(reason) && !res.destroyed) res.destroy();
    this.interest?.release();
    this.interest = undefined;
    this.#onClosed(this, reason);
  }

  #write(chunk: string): boolean {
    const res = this.#res;
    if (res === undefined || res.writableEnded) return false;
    this.lastWriteAt = Date.now();
    try {
      return isHttp2(res) ? res.write(chunk) : res.write(chunk);
    } catch {
      this.close('send_failed');
      return false;
    }
  }

  /**
   * Several events reaching one stream in the same event-loop turn go out as one socket write
   * (DESIGN.md "Hot path": cork now, uncork on the next tick).
   */
  #coalesce(res: SseResponse): void {
    if (this.#corked || !('cork' in res)) return;
    this.#corked = true;
    this.#unsentAtCork = res.writableLength;
    res.cork();
    process.nextTick(() => {
      this.#corked = false;
      res.uncork();
    });
  }
}

function isHttp2(res: SseResponse): res is Http2ServerResponse {
  return 'stream' in res;
}

/** On HTTP/2, a server-initiated close sends GOAWAY so the client's next request opens a new connection (SPEC 10). */
function closeHttp2Session(res: SseResponse): void {
  if (!isHttp2(res)) return;
  const session = res.stream.session;
  if (session !== undefined && !session.closed && !session.destroyed) session.goaway();
}
