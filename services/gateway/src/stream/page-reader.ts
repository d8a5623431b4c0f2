/**
 * History reads for replay, shared: connections of this replica that ask for the same page at
 * the same time (a storm of clients resuming from the same id after a replica died) get one
 * broker read between them (DESIGN.md "Resume without gap").
 *
 * Sharing has one rule that keeps the hand-off gapless: a caller may only join a read that was
 * issued after the caller started holding live events (see {@link PageReader.ticket}). A read
 * issued earlier can lack an event that was published before the caller was registered with the
 * dispatcher, which the caller then has neither in the page nor among its held events.
 */
import { encodeEventId } from '@ssehub/protocol';
import type { Broker, HistoryPage, ReadStart } from '../broker/broker.js';

interface InFlight {
  /** The ticket current when the read was issued. */
  readonly issuedAt: number;
  readonly page: Promise<HistoryPage>;
}

export class PageReader {
  readonly #inFlight = new Map<string, InFlight>();
  #tick = 0;
  /** Broker reads actually made (the rest were shared). */
  reads = 0;

  constructor(private readonly broker: Broker) {}

  /**
   * A point in this reader's timeline. Take one once the caller holds every live event it could
   * miss (after it was registered with the dispatcher, and again after its held events
   * overflowed), and pass it to {@link read}.
   */
  ticket(): number {
    this.#tick += 1;
    return this.#tick;
  }

  /**
   * Reads up to `limit` events of `shard` after `start`, sharing a read in flight for the same
   * page only when it was issued after `since` (a value from {@link ticket}).
   */
  read(shard: number, start: ReadStart, limit: number, since: number): Promise<HistoryPage> {
    const from = start === 'earliest' ? 'earliest' : encodeEventId([start]);
    const key = `${shard}|${from}|${limit}`;
    const shared = this.#inFlight.get(key);
    if (shared !== undefined && shared.issuedAt > since) return shared.page;
    this.reads += 1;
    const entry: InFlight = {
      issuedAt: this.ticket(),
      page: this.broker.readAfter(shard, start, limit).finally(() => {
        if (this.#inFlight.get(key) === entry) this.#inFlight.delete(key);
      }),
    };
    this.#inFlight.set(key, entry);
    return entry.page;
  }
}
