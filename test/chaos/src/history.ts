/**
 * The recorded history of a chaos run: what the publishers sent and learnt, every frame each
 * subscriber received, the faults the nemesis injected, and what Redis still held at the end.
 * The checker reads only this, so it can be tested on synthetic histories and re-run on a saved
 * one.
 */

/** How a publish ended. */
export type PublishStatus =
  /** A 200 (or an SDK resolve) with an id: the event must be delivered. */
  | 'accepted'
  /** Never acknowledged (timeouts, 503s, cut connections): it may appear at most once. */
  | 'unknown'
  /** A definite refusal that says nothing was stored (a 4xx): it must never appear. */
  | 'rejected';

/** One event the workload tried to publish, with the outcome of all its attempts. */
export interface PublishRecord {
  /** The event's unique key (`<publisher>:<seq>`); also its data and its idempotency key. */
  readonly key: string;
  readonly topic: string;
  /** Which publisher sent it (`sdk0`, `http1`, …). */
  readonly publisher: string;
  /** Milliseconds since the run started, at the first attempt. */
  readonly firstAttemptAt: number;
  status: PublishStatus;
  /** The id of the first acknowledgement. */
  id?: string;
  /** Every distinct id the attempts were answered with (more than one is a broken idempotency key). */
  readonly ids: string[];
  /** Time of the first acknowledgement. */
  acceptedAt?: number;
  attempts: number;
  /** The last error seen, for diagnosis. */
  lastError?: string;
}

/** One thing a subscriber saw, in the order it saw it. `t` is ms since the run started. */
export type Frame =
  /** A response with status 200 and an event stream: the connection opened. */
  | { readonly kind: 'open'; readonly t: number; readonly conn: number; readonly gateway: number }
  /** An event with data (not `ssehub.reset`), with the envelope's topic and data. */
  | {
      readonly kind: 'event';
      readonly t: number;
      readonly conn: number;
      readonly id: string;
      readonly topic: string;
      readonly key: string;
      readonly name?: string;
    }
  /** An event whose data is not an envelope (garbled framing, injected text). */
  | {
      readonly kind: 'garbled';
      readonly t: number;
      readonly conn: number;
      readonly id: string;
      readonly name?: string;
      readonly data: string;
    }
  /** `event: ssehub.reset`; `id` is the new position. */
  | {
      readonly kind: 'reset';
      readonly t: number;
      readonly conn: number;
      readonly id: string;
      readonly reason: string;
    }
  /** An `id:` block with no data (opening block, heartbeat): sets the last event id only. */
  | { readonly kind: 'id'; readonly t: number; readonly conn: number; readonly id: string }
  /** The not-ready answer (`: not ready`, then the end). */
  | { readonly kind: 'not-ready'; readonly t: number; readonly conn: number }
  /** The stream ended or the connection failed; the client reconnects. */
  | { readonly kind: 'close'; readonly t: number; readonly conn: number; readonly reason: string }
  /** A non-200 answer (or a wrong content type): an EventSource gives up for good. */
  | {
      readonly kind: 'fatal';
      readonly t: number;
      readonly conn: number;
      readonly status: number;
      readonly body: string;
    };

/** Everything one subscriber recorded. */
export interface SubscriberRecord {
  readonly name: string;
  /** The patterns it subscribed to (a `/subscribe/<topic>` route is recorded as `<topic>/**`). */
  readonly patterns: readonly string[];
  readonly frames: Frame[];
}

/** One injected fault. Times are ms since the run started. */
export interface FaultRecord {
  readonly kind: string;
  readonly target: string;
  readonly at: number;
  healedAt?: number;
  readonly detail: string;
  /** Set when the fault could not be carried out as planned. */
  error?: string;
}

/** One entry of a shard's history stream as Redis held it at the end. */
export interface HeldEntry {
  /** The stream id, `<ms>-<seq>`. */
  readonly streamId: string;
  /** The entry's data (the event key for the workload's events). */
  readonly data: string;
}

/** What one shard held at the end of the run. */
export interface ShardState {
  readonly shard: number;
  readonly epoch: string;
  readonly pastEpochs: readonly string[];
  readonly lastGeneratedId: string;
  readonly entries: readonly HeldEntry[];
}

/** A whole run. */
export interface History {
  readonly seed: number;
  readonly topology: string;
  readonly shards: number;
  /** Wall-clock time of t = 0 (ms since the Unix epoch). */
  readonly startedAt: number;
  readonly publishes: readonly PublishRecord[];
  readonly subscribers: readonly SubscriberRecord[];
  readonly faults: readonly FaultRecord[];
  /**
   * Gateway processes that exited on their own (kind `gateway-crash`) or stayed not ready after
   * every fault healed (`gateway-stuck`); each was restarted.
   */
  readonly crashes: readonly FaultRecord[];
  /** Per shard, what Redis held after quiescence; the expected events are the ones still held. */
  readonly held: readonly ShardState[];
}
