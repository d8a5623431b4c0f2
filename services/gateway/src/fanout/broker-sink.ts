/**
 * The hinge between the broker and the fan-out: the one {@link BrokerSink} a gateway hands its
 * broker at start. Events go to the dispatcher; a gap on a shard closes that shard's streams so
 * their clients resume from history (or get `ssehub.reset`); up and down are logged, since the
 * broker itself tells readiness and metrics.
 */
import type { Logger } from 'pino';
import type { Broker, BrokerEvent, BrokerSink } from '../broker/broker.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { Dispatcher } from './dispatcher.js';

/** What the sink forwards to. */
export interface BrokerSinkDeps {
  /** Only its `kind` is read, for the log lines. */
  readonly broker: Pick<Broker, 'kind'>;
  /** Receives every broker event, in position order per shard. */
  readonly dispatcher: Pick<Dispatcher, 'onEvent'>;
  /** Where a gap closes the streams that cover the shard. */
  readonly registry: Pick<ConnectionRegistry, 'closeShard'>;
  readonly log: Logger;
}

/**
 * Builds the sink that connects a broker to this gateway's fan-out.
 *
 * @example
 * await broker.start(createBrokerSink({ broker, dispatcher, registry, log }));
 */
export function createBrokerSink(deps: BrokerSinkDeps): BrokerSink {
  const { broker, dispatcher, registry, log } = deps;
  return {
    onEvent: (event: BrokerEvent) => {
      dispatcher.onEvent(event);
    },
    onUp: () => {
      log.info({ broker: broker.kind }, 'broker connection up');
    },
    onDown: () => {
      log.warn(
        { broker: broker.kind },
        'broker connection down; new streams are turned away until it is back',
      );
    },
    onGap: (shard: number) => {
      log.warn(
        { shard },
        'events may have been missed on a shard; closing its streams so clients resume',
      );
      registry.closeShard(shard, 'broker_gap');
    },
  };
}
