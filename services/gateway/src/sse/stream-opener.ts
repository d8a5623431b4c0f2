/**
 * Opens a stream without a gap (DESIGN.md "Resume without gap"):
 *
 * 1. register the connection with the dispatcher (live events are held from here on),
 * 2. acquire the broker interest and wait until it is live,
 * 3. decide the start: the current head (fresh), the oldest retained event (`earliest`), or the
 *    client's cursor, reading the first history page of each shard to get the verdict; all of
 *    this happens before the first byte, so a broker failure still gets the not-ready answer,
 * 4. write the head, `: ok`, `retry:` and `id:` in one block (or an `ssehub.reset`),
 * 5. replay history page by page, waiting for the socket to drain between pages,
 * 6. hand off: write the held live events newer than what the replay sent, and go live, in one
 *    synchronous step so no event falls between.
 *
 * Why one file past 400 lines: the six steps run in this order on one connection's state, and
 * the order is the guarantee (the hold starts before the interest, the verdict before the first
 * byte, the hand-off after the last page). Split by step, that order would be spread over files.
 */
import {
  RESET_EVENT,
  comparePositions,
  encodeEventId,
  encodeFrame,
  matches,
  type Cursor,
  type Pattern,
} from '@ssehub/protocol';
import type { Logger } from 'pino';
import type { Broker, BrokerEvent, HistoryPage } from '../broker/broker.js';
import { GatewayError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { ConnectionRegistry } from '../fanout/connection-registry.js';
import type { CloseReason } from './close-reason.js';
import { type Dispatcher, envelopeOf } from '../fanout/dispatcher.js';
import { SseConnection, type SseResponse } from './sse-connection.js';
import type { Slot } from './connection-limits.js';
import type { PageReader } from './page-reader.js';

/** Where a stream starts. */
export type StreamStart =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'earliest' }
  | { readonly kind: 'resume'; readonly cursors: readonly Cursor[] }
  /** A Last-Event-ID header that ssehub could not have issued: `unknown_id` reset (SPEC 5). */
  | { readonly kind: 'undecodable' };

export interface OpenRequest {
  readonly patterns: readonly Pattern[];
  readonly start: StreamStart;
  readonly envelope: boolean;
  readonly ip: string;
  readonly subject: string | undefined;
  readonly slot: Slot;
}

export interface StreamOpenerOptions {
  /** Unsent bytes before a live stream is closed (`MAX_BUFFERED_BYTES`). */
  readonly maxBufferedBytes: number;
  /** Streams older than this (plus up to 20% jitter) are closed, in ms; 0 = never (`MAX_CONNECTION_AGE_MS`). */
  readonly maxConnectionAgeMs: number;
  /** Events per history read; the gateway passes 200. */
  readonly replayPageSize: number;
  /**
   * A replaying client that takes no bytes for this long is closed as a slow consumer, in ms.
   * The gateway passes twice `HEARTBEAT_MS`, at least 5000.
   */
  readonly replayStallMs: number;
}

export interface StreamOpenerDeps {
  readonly broker: Broker;
  readonly dispatcher: Dispatcher;
  readonly registry: ConnectionRegistry;
  readonly pages: PageReader;
  readonly metrics: Metrics;
  readonly log: Logger;
}

type ResetReason = 'history_trimmed' | 'unknown_id' | 'history_lost';

const RESET_REASON: Record<Exclude<HistoryPage['verdict'], 'ok'>, ResetReason> = {
  trimmed: 'history_trimmed',
  unknown: 'unknown_id',
  lost: 'history_lost',
};

/** When shards disagree, the most specific reason wins. */
const RESET_PRIORITY: readonly ResetReason[] = ['history_lost', 'history_trimmed', 'unknown_id'];

/** A stream that passed every check and whose first history pages are read; nothing written yet. */
export interface PreparedStream {
  readonly conn: SseConnection;
  /** Writes the head and runs the replay and hand-off. Never throws. */
  start(res: SseResponse, headers: Readonly<Record<string, string>>): void;
  /** Gives everything back (client went away before the head was written). */
  cancel(): void;
}

interface Plan {
  /** Per shard, the position the stream starts after (absent: before the oldest retained event). */
  readonly positions: Map<number, Cursor>;
  /** First pages read, per shard, for a replay. */
  readonly firstPages: Map<number, readonly BrokerEvent[]>;
  /** Shards whose first page did not reach the end of history. */
  readonly unfinished: Set<number>;
  readonly reset: ResetReason | undefined;
  /** The `id:` of the opening block; undefined for `earliest`. */
  readonly openingId: string | undefined;
  /** The stream's overflow count when the first pages were read (see #replayThenGoLive). */
  readonly overflowsAtRead: number;
}

export class StreamOpener {
  /** Numbers this gateway's connections, for log lines (`<pid>-<n>` in base 36). */
  #nextConnectionNumber = 0;

  constructor(
    private readonly options: StreamOpenerOptions,
    private readonly deps: StreamOpenerDeps,
  ) {}

  /**
   * Steps 1 to 3. Throws GatewayError NOT_READY when the broker cannot make the interest live or
   * the history cannot be read (the route turns it into the not-ready answer).
   */
  async prepare(req: OpenRequest): Promise<PreparedStream> {
    const { broker, dispatcher, registry, metrics, log } = this.deps;
    const age = this.options.maxConnectionAgeMs;
    let attached = false;
    const conn = new SseConnection({
      id: `${process.pid.toString(36)}-${(this.#nextConnectionNumber++).toString(36)}`,
      patterns: req.patterns,
      shards: shardsOf(req.patterns, broker),
      envelope: req.envelope,
      ip: req.ip,
      subject: req.subject,
      maxBufferedBytes: this.options.maxBufferedBytes,
      expiresAt: age > 0 ? Date.now() + age * (1 + Math.random() * 0.2) : Infinity,
      onClosed: (closed, reason) => {
        dispatcher.remove(closed);
        registry.delete(closed);
        req.slot.release();
        if (!attached) return;
        metrics.connectionsClosed.inc({ reason });
        if (reason === 'slow_consumer' || reason === 'total_buffer_exceeded') {
          metrics.slowConsumersClosed.inc();
        }
        log.info(
          {
            connId: closed.id,
            reason,
            delivered: closed.delivered,
            durationMs: Date.now() - closed.openedAt,
          },
          'stream closed',
        );
      },
    });
    dispatcher.add(conn);
    try {
      conn.interest = await broker.acquire(req.patterns);
      const plan = await this.#plan(conn, req.start);
      return {
        conn,
        start: (res, headers) => {
          attached = true;
          registry.add(conn);
          log.info(
            {
              connId: conn.id,
              ip: conn.ip,
              sub: conn.subject,
              patterns: conn.patterns.map((p) => p.source),
              start: req.start.kind,
            },
            'stream opened',
          );
          void this.#run(conn, plan, res, headers);
        },
        cancel: () => {
          conn.close('client_closed');
        },
      };
    } catch (err) {
      conn.close('replay_failed');
      if (err instanceof GatewayError && err.status < 500) throw err;
      log.warn({ err }, 'stream not opened: broker unavailable');
      throw new GatewayError(
        'NOT_READY',
        'The event history cannot be read right now; retry shortly.',
        {
          cause: err,
        },
      );
    }
  }

  /**
   * Each shard's head, read once the connection's interest is live (and so are its held live
   * events): every event it needs from before this moment is at or below these positions, so a
   * shared page read when the shard was at least this far serves it (PageReader). The
   * dispatcher's watermark would not do: it knows nothing of channels this replica only just
   * subscribed.
   */
  async #floorsOf(conn: SseConnection): Promise<Map<number, Cursor | undefined>> {
    const heads = await Promise.all(conn.shards.map((shard) => this.deps.broker.head(shard)));
    return new Map(heads.map((head) => [head.shard, head]));
  }

  async #plan(conn: SseConnection, start: StreamStart): Promise<Plan> {
    const { broker } = this.deps;
    const positions = new Map<number, Cursor>();
    const firstPages = new Map<number, readonly BrokerEvent[]>();
    const unfinished = new Set<number>();
    const overflowsAtRead = conn.overflows;
    const heads = async (): Promise<Map<number, Cursor>> => {
      const all = await Promise.all(conn.shards.map((s) => broker.head(s)));
      return new Map(all.map((c) => [c.shard, c]));
    };
    const resetPlan = async (reason: ResetReason): Promise<Plan> => {
      const at = await heads();
      return {
        positions: at,
        firstPages,
        unfinished,
        reset: reason,
        openingId: idOf(at),
        overflowsAtRead,
      };
    };

    if (start.kind === 'fresh') {
      const at = await heads();
      return {
        positions: at,
        firstPages,
        unfinished,
        reset: undefined,
        openingId: idOf(at),
        overflowsAtRead,
      };
    }
    if (start.kind === 'undecodable') return resetPlan('unknown_id');

    const given =
      start.kind === 'resume' ? new Map(start.cursors.map((c) => [c.shard, c])) : undefined;
    if (given !== undefined && !isPositionOfThisDeployment(given, conn.shards, this.deps.broker)) {
      return resetPlan('unknown_id');
    }
    const floors = await this.#floorsOf(conn);
    const verdicts = await Promise.all(
      conn.shards.map(async (shard) => {
        const from: Cursor | 'earliest' = given?.get(shard) ?? 'earliest';
        const page = await this.deps.pages.read(
          shard,
          from,
          this.options.replayPageSize,
          floors.get(shard),
        );
        return { shard, from, page };
      }),
    );
    const failed = verdicts
      .map((v) => (v.page.verdict === 'ok' ? undefined : RESET_REASON[v.page.verdict]))
      .filter((r): r is ResetReason => r !== undefined);
    if (failed.length > 0) {
      return resetPlan(RESET_PRIORITY.find((r) => failed.includes(r)) ?? 'unknown_id');
    }
    for (const { shard, from, page } of verdicts) {
      if (from !== 'earliest') positions.set(shard, from);
      if (page.verdict !== 'ok') continue;
      firstPages.set(shard, page.events);
      if (!page.done) unfinished.add(shard);
    }
    return {
      positions,
      firstPages,
      unfinished,
      reset: undefined,
      openingId: start.kind === 'earliest' ? undefined : idOf(positions),
      overflowsAtRead,
    };
  }

  /** Steps 4 to 6. */
  async #run(
    conn: SseConnection,
    plan: Plan,
    res: SseResponse,
    headers: Readonly<Record<string, string>>,
  ): Promise<void> {
    const { metrics } = this.deps;
    conn.state = 'replaying';
    res.on('close', () => {
      conn.close('client_closed');
    });
    const retryMs = 2000 + Math.floor(Math.random() * 1000);
    let opening = encodeFrame({ comment: 'ok', retryMs, id: plan.openingId });
    if (plan.reset !== undefined) {
      metrics.resets.inc({ reason: plan.reset });
      opening += encodeFrame({
        id: plan.openingId,
        event: RESET_EVENT,
        data: JSON.stringify({ reason: plan.reset }),
      });
    }
    conn.attach(res, headers, opening);
    try {
      // A reset has no first pages, but still runs the loop: if the held live events overflowed
      // while opening, they are read back from history after the reset's position.
      await this.#replayThenGoLive(conn, plan);
    } catch (err) {
      // History unreadable mid-replay: close, and the client retries with its cursor (SPEC 5).
      this.deps.log.warn({ err, connId: conn.id }, 'replay failed; closing the stream');
      conn.close('replay_failed');
    }
  }

  /**
   * Writes the replay page by page, then hands off to live. The final "nothing left to read and
   * no held event was dropped" check and the hand-off run in one synchronous step: an `await`
   * between them would let a publish (delivered synchronously by the embedded broker) overflow
   * the held events after the check, and those events would be lost.
   */
  async #replayThenGoLive(conn: SseConnection, plan: Plan): Promise<void> {
    const positions = plan.positions;
    // First pages, already read during prepare.
    for (const [, events] of plan.firstPages) await this.#writePage(conn, events, positions);
    let pending = new Set(plan.unfinished);
    let overflowsSeen = plan.overflowsAtRead;
    for (;;) {
      if (conn.isClosed()) return;
      if (pending.size === 0 && overflowsSeen === conn.overflows) {
        this.#goLive(conn, positions);
        return;
      }
      // Held live events overflowed: they are in history, so another pass over every shard
      // reads them (DESIGN.md).
      const shards = overflowsSeen === conn.overflows ? [...pending] : conn.shards;
      overflowsSeen = conn.overflows;
      pending = new Set();
      // Held events dropped so far are in history at or below these heads.
      const floors = await this.#floorsOf(conn);
      for (const shard of shards) {
        for (;;) {
          if (conn.isClosed()) return;
          const page = await this.deps.pages.read(
            shard,
            positions.get(shard) ?? 'earliest',
            this.options.replayPageSize,
            floors.get(shard),
          );
          if (page.verdict !== 'ok') throw new Error(`history ${page.verdict} during replay`);
          await this.#writePage(conn, page.events, positions);
          if (page.done) break;
        }
      }
    }
  }

  async #writePage(
    conn: SseConnection,
    events: readonly BrokerEvent[],
    positions: Map<number, Cursor>,
  ): Promise<void> {
    let chunk = '';
    let written = 0;
    for (const event of events) {
      if (isAtOrBelow(event.cursor, positions.get(event.cursor.shard))) continue;
      // A history page holds every event of the shard; only matching ones are sent, but the
      // position moves past the others too so a later page does not read them again.
      positions.set(event.cursor.shard, event.cursor);
      if (!matchesAny(conn.patterns, event.topic)) continue;
      chunk += this.#frameAt(conn, event, positions);
      written += 1;
    }
    if (written === 0) return;
    conn.delivered += written;
    this.deps.metrics.eventsReplayed.inc(written);
    this.deps.metrics.eventsDelivered.inc(written);
    await conn.sendPaced(chunk, this.options.replayStallMs);
  }

  #goLive(conn: SseConnection, positions: Map<number, Cursor>): void {
    const { dispatcher } = this.deps;
    let chunk = '';
    for (const event of conn.takePending()) {
      if (isAtOrBelow(event.cursor, positions.get(event.cursor.shard))) continue;
      positions.set(event.cursor.shard, event.cursor);
      chunk += this.#frameAt(conn, event, positions);
      conn.delivered += 1;
    }
    // Where this stream was sent more than the relay has dispatched, keep its own positions
    // until the watermark catches up, so its cursor never moves back.
    conn.floor = new Map(positions);
    dispatcher.settleFloor(conn);
    conn.state = 'live';
    if (chunk !== '') conn.send(chunk);
  }

  #frameAt(conn: SseConnection, event: BrokerEvent, positions: Map<number, Cursor>): string {
    return encodeFrame({
      id: idOf(positions),
      event: event.event,
      data: conn.envelope ? envelopeOf(event) : event.data,
    });
  }
}

/** The shards a connection's patterns can reach: a pattern starting with a wildcard reaches all. */
function shardsOf(patterns: readonly Pattern[], broker: Broker): number[] {
  const shards = new Set<number>();
  for (const pattern of patterns) {
    const first = pattern.segments[0];
    if (first === undefined || first === '*' || first === '**') {
      for (let s = 0; s < broker.shardCount; s++) shards.add(s);
      break;
    }
    shards.add(broker.shardOf(first));
  }
  return [...shards].sort((a, b) => a - b);
}

/**
 * A cursor vector names shards of this deployment, and at least one that the connection covers.
 * A covered shard it leaves out is read from its oldest retained event: a stream that resumes an
 * `earliest` replay of several shards has not reached every shard yet (docs/history.md). An id
 * with shards this deployment does not have, or none of the connection's, is from elsewhere:
 * `unknown_id` (SPEC 5).
 */
function isPositionOfThisDeployment(
  given: ReadonlyMap<number, Cursor>,
  shards: readonly number[],
  broker: Broker,
): boolean {
  for (const shard of given.keys()) if (shard >= broker.shardCount) return false;
  return shards.some((shard) => given.has(shard));
}

function matchesAny(patterns: readonly Pattern[], topic: string): boolean {
  for (const pattern of patterns) if (matches(pattern, topic)) return true;
  return false;
}

function idOf(positions: ReadonlyMap<number, Cursor>): string | undefined {
  return positions.size === 0 ? undefined : encodeEventId([...positions.values()]);
}

function isAtOrBelow(cursor: Cursor, position: Cursor | undefined): boolean {
  return (
    position !== undefined &&
    position.epoch === cursor.epoch &&
    comparePositions(cursor.position, position.position) <= 0
  );
}

export type { CloseReason };
