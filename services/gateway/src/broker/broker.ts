/**
 * The broker interface: everything the HTTP layer knows about where events come from and where
 * history lives (DESIGN.md "The broker interface"). The embedded in-memory broker implements it
 * now; the Redis broker implements the same contract, so nothing above this file changes when
 * `REDIS_URL` is set.
 *
 * Contract, in the words the gateway relies on:
 * - {@link Broker.acquire} resolves only once the interest is live: an event published after it
 *   resolved reaches {@link BrokerSink.onEvent}.
 * - Events of one shard reach the sink in position order. A position is never reused within an
 *   epoch; a new epoch means history before it is gone.
 * - {@link Broker.publish} resolves only once every event is in history (when history is on) and
 *   will be delivered.
 */
import type { Cursor, Pattern } from '@ssehub/protocol';
import type { SkipReason } from './relay-skips.js';

/** One published event as the gateway sees it. */
export interface BrokerEvent {
  /** Normalized topic (SPEC 2). */
  readonly topic: string;
  /** Event name, or undefined for an unnamed event (the browser fires `message`). */
  readonly event: string | undefined;
  /** The published text, verbatim. */
  readonly data: string;
  /** When the broker accepted it, in ms since the Unix epoch. */
  readonly publishedAt: number;
  /** Where it sits in its shard's history. */
  readonly cursor: Cursor;
}

/** One event to publish, already validated by the caller (topic normalized, name legal, size checked). */
export interface PublishInput {
  readonly topic: string;
  readonly event: string | undefined;
  readonly data: string;
  /** A repeat within the idempotency TTL returns the first id and publishes nothing (SPEC 7). */
  readonly idempotencyKey: string | undefined;
}

/** What a publish did. */
export interface PublishResult {
  /** One id per input, in order; a repeated idempotency key gives the first publish's id. */
  readonly ids: string[];
  /** Events actually stored (inputs minus idempotent repeats). */
  readonly stored: number;
}

/** The result of a history read. */
export type HistoryPage =
  | {
      readonly verdict: 'ok';
      /** Events strictly after the requested position, in order, at most `limit`. */
      readonly events: readonly BrokerEvent[];
      /** True when there was nothing more to read at the time of the read. */
      readonly done: boolean;
      /**
       * The shard's newest position when the page was read. Lets one page serve several
       * resuming connections (sse/page-reader.ts); a broker that leaves it out shares none.
       */
      readonly newest?: Cursor;
    }
  | {
      /**
       * `trimmed`: older than the retained history; `unknown`: not a position of this deployment
       * (other epoch never seen, or ahead of the newest event); `lost`: from an epoch whose data
       * Redis lost (SPEC 5).
       */
      readonly verdict: 'trimmed' | 'unknown' | 'lost';
    };

/** Where a read starts: after a cursor, or from the oldest retained event. */
export type ReadStart = Cursor | 'earliest';

/** A live interest in some patterns; release it exactly once when the connection closes. */
export interface Interest {
  release(): void;
}

/** What the broker tells the gateway. One sink per broker, set once at start. */
export interface BrokerSink {
  /** A published event that some acquired pattern may match. Called in position order per shard. */
  onEvent(event: BrokerEvent): void;
  /** The broker connection is back (after a `down`), with any missed events already backfilled. */
  onUp(): void;
  /** The broker connection is gone: new subscriptions are refused until `up`. */
  onDown(): void;
  /**
   * Events of this shard may have been missed and could not be backfilled: the gateway closes
   * the live streams covering the shard so their clients resume from history (or get a reset).
   */
  onGap(shard: number): void;
}

/** Per-replica entry in the cluster-wide registry (`/admin/api/stats`). */
export interface ReplicaStats {
  readonly id: string;
  readonly connections: number;
  readonly subscriptions: number;
  readonly topics: number;
  readonly eventsInPerSec: number;
  readonly eventsOutPerSec: number;
  readonly startedAt: string;
  readonly [extra: string]: unknown;
}

/** One authenticated subject's connections on one replica, for presence (SPEC 10). */
export interface PresenceEntry {
  readonly sub: string;
  readonly connections: number;
  readonly patterns: readonly string[];
}

/** One replica's presence entries. */
export interface ReplicaPresence {
  readonly replica: string;
  readonly entries: readonly PresenceEntry[];
}

/** Cluster-wide view of replicas and presence. The embedded broker keeps a local one. */
export interface ReplicaRegistry {
  /** Publishes this replica's latest stats and presence (called about once a second). */
  report(stats: ReplicaStats, presence: readonly PresenceEntry[]): Promise<void>;
  /** Every live replica, this one included. */
  replicas(): Promise<ReplicaStats[]>;
  /** Every live replica's presence entries, as last reported. */
  presence(): Promise<ReplicaPresence[]>;
}

/** Broker health figures for metrics (SPEC 9: breaker state, relay disconnects). */
export interface BrokerCounters {
  /** Times the relay's subscriber connection was lost (Redis restart, CLIENT KILL, output buffer limit). */
  readonly relayDisconnects: number;
  /**
   * Relayed messages skipped since start, by reason (`ssehub_relay_messages_skipped_total`,
   * SPEC 9): they did not parse (not ssehub's, another version, a bad field), or dispatching them
   * threw. Reasons that never happened may be left out. The embedded broker reports none.
   */
  readonly skippedMessages: Readonly<Partial<Record<SkipReason, number>>>;
  /** The request-path circuit breaker: 0 closed, 1 half-open, 2 open. */
  readonly breakerState: 0 | 1 | 2;
}

/**
 * Where events are stored and relayed between replicas: the embedded broker (one process, no
 * Redis) or the Redis broker. The gateway talks to no other store, and a library user may pass
 * their own (`createGateway({ broker })`). The contract in this file's header (order per shard,
 * positions never reused within an epoch) is what the fan-out relies on.
 */
export interface Broker {
  /** 'embedded' or 'redis', for logs and stats. */
  readonly kind: string;
  /** Number of history shards (1 for the embedded broker). */
  readonly shardCount: number;
  /** The shard that owns a topic. */
  shardOf(topic: string): number;
  /** Connects; resolves once the broker has been reached, rejects when it cannot be (bad URL). */
  start(sink: BrokerSink): Promise<void>;
  /** True while the broker connection is up. */
  isUp(): boolean;
  /**
   * Stores then relays a batch. Resolves to one id per input, in order, and how many were
   * stored. Rejects with a GatewayError: IDEMPOTENCY_CONFLICT (nothing of that shard stored),
   * BROKER_UNAVAILABLE (with `ids` when part of a multi-shard batch was stored).
   */
  publish(batch: readonly PublishInput[]): Promise<PublishResult>;
  /** Makes the patterns live for this replica; resolves only once they are. */
  acquire(patterns: readonly Pattern[]): Promise<Interest>;
  /** The newest position of a shard (for fresh connections and resets). */
  head(shard: number): Promise<Cursor>;
  /**
   * A position L such that every event at or below L that the replica's interests match has
   * already reached the sink. Lets quiet connections' cursors advance (DESIGN.md watermarks).
   */
  syncPoint(shard: number): Promise<Cursor>;
  /** Reads up to `limit` events of a shard after `start`, with a verdict on the start position. */
  readAfter(shard: number, start: ReadStart, limit: number): Promise<HistoryPage>;
  /** Events currently retained in history, summed over shards (for metrics). */
  historyLength(): Promise<number>;
  /** Health figures for metrics. */
  counters(): BrokerCounters;
  /** Cluster-wide replicas and presence. */
  readonly registry: ReplicaRegistry;
  /** Stops everything; pending calls reject. */
  close(): Promise<void>;
}
