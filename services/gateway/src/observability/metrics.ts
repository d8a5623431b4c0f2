/**
 * Prometheus metrics (SPEC 10). Each gateway owns its registry, so two gateways in one process
 * (tests, library use) never share or clash on counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BrokerCounters } from '../broker/broker.js';
import { SKIP_REASONS, type SkipReason } from '../broker/relay-skips.js';

export interface MetricsSources {
  /** Open SSE streams. */
  connections(): number;
  /** (connection, pattern) pairs. */
  subscriptions(): number;
  /** 1 while the broker connection is up. */
  brokerUp(): number;
  /** Events retained in history. */
  historyLength(): Promise<number>;
  /** Broker health figures. */
  brokerCounters(): BrokerCounters;
  /** History page reads made, and reads answered from another connection's page. */
  historyReads(): { readonly reads: number; readonly shared: number };
}

export function createMetrics(sources: MetricsSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ssehub_process_' });
  const registers = [registry];
  /** Per reason, the broker's skipped-message total at the last scrape. */
  const reportedSkips = new Map<SkipReason, number>();
  return {
    registry,
    connections: new Gauge({
      name: 'ssehub_connections',
      help: 'Open SSE connections on this replica (the HPA scales on it).',
      registers,
      collect() {
        this.set(sources.connections());
      },
    }),
    subscriptions: new Gauge({
      name: 'ssehub_subscriptions',
      help: 'Subscribed patterns summed over open connections on this replica.',
      registers,
      collect() {
        this.set(sources.subscriptions());
      },
    }),
    brokerUp: new Gauge({
      name: 'ssehub_broker_up',
      help: '1 while this replica is connected to its broker, else 0.',
      registers,
      collect() {
        this.set(sources.brokerUp());
      },
    }),
    breakerState: new Gauge({
      name: 'ssehub_broker_breaker_state',
      help: 'Circuit breaker around request-path broker calls: 0 closed, 1 half-open, 2 open (failing fast).',
      registers,
      collect() {
        this.set(sources.brokerCounters().breakerState);
      },
    }),
    relayDisconnects: new Gauge({
      name: 'ssehub_relay_disconnects',
      help: 'Times the relay subscriber connection was lost since start (Redis restart, CLIENT KILL, pubsub output buffer limit); a counter exposed as a gauge because the broker owns it.',
      registers,
      collect() {
        this.set(sources.brokerCounters().relayDisconnects);
      },
    }),
    relayMessagesSkipped: new Counter({
      name: 'ssehub_relay_messages_skipped_total',
      help: 'Messages on ssehub channels skipped, by reason: format, version, epoch, stream_id, topic or event_name (not written by ssehub, or another protocol version), or dispatch (delivering it failed).',
      labelNames: ['reason'] as const,
      registers,
      collect() {
        // The broker owns the totals; a counter only goes up, so add what is new since the last
        // scrape. Every reason is exposed, at 0 until it happens, so rate() works from the start.
        const totals = sources.brokerCounters().skippedMessages;
        for (const reason of SKIP_REASONS) {
          const total = totals[reason] ?? 0;
          const seen = reportedSkips.get(reason);
          if (seen !== undefined && total <= seen) continue;
          this.inc({ reason }, total - (seen ?? 0));
          reportedSkips.set(reason, total);
        }
      },
    }),
    historyReads: new Gauge({
      name: 'ssehub_history_reads',
      help: 'History pages read from the broker for replays since start (a counter exposed as a gauge).',
      registers,
      collect() {
        this.set(sources.historyReads().reads);
      },
    }),
    historyReadsShared: new Gauge({
      name: 'ssehub_history_reads_shared',
      help: 'Replay page requests answered from a page another connection read (resume storms share reads).',
      registers,
      collect() {
        this.set(sources.historyReads().shared);
      },
    }),
    historyEvents: new Gauge({
      name: 'ssehub_history_events',
      help: 'Events retained in history for resume, over all shards.',
      registers,
      async collect() {
        try {
          this.set(await sources.historyLength());
        } catch {
          // History unreadable right now (broker down): keep the last value, broker_up says why.
        }
      },
    }),
    eventsPublished: new Counter({
      name: 'ssehub_events_published_total',
      help: 'Events accepted for publishing through this replica.',
      registers,
    }),
    eventsReceived: new Counter({
      name: 'ssehub_events_received_total',
      help: 'Events relayed to this replica by its broker (after duplicate removal).',
      registers,
    }),
    eventsDelivered: new Counter({
      name: 'ssehub_events_delivered_total',
      help: 'Event frames written to SSE connections (live and replayed).',
      registers,
    }),
    eventsReplayed: new Counter({
      name: 'ssehub_events_replayed_total',
      help: 'Event frames written from history on resume.',
      registers,
    }),
    resets: new Counter({
      name: 'ssehub_resets_total',
      help: 'ssehub.reset events sent on resume, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    slowConsumersClosed: new Counter({
      name: 'ssehub_slow_consumers_closed_total',
      help: 'Connections closed because their unsent bytes passed MAX_BUFFERED_BYTES or the replica total passed MAX_TOTAL_BUFFERED_BYTES.',
      registers,
    }),
    connectionsClosed: new Counter({
      name: 'ssehub_connections_closed_total',
      help: 'SSE connections closed, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    connectionsRejected: new Counter({
      name: 'ssehub_connections_rejected_total',
      help: 'Subscribe requests refused before the stream started, by error code.',
      labelNames: ['code'] as const,
      registers,
    }),
    duplicateEventsDropped: new Counter({
      name: 'ssehub_duplicate_events_dropped_total',
      help: 'Relayed events dropped because their id was not above the shard watermark.',
      registers,
    }),
    relayLag: new Histogram({
      name: 'ssehub_relay_lag_seconds',
      help: 'Time from publish (broker acceptance) to receipt by this replica.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
