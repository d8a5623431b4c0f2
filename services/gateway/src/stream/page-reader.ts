/**
 * History reads for replay, shared: connections of this replica that ask for the same page at
 * the same time (a storm of clients resuming from the same id after a replica died) get one
 * broker read between them (DESIGN.md "Resume without gap").
 */
import { encodeEventId } from '@ssehub/protocol';
import type { Broker, HistoryPage, ReadStart } from '../broker/broker.js';

export class PageReader {
  readonly #inFlight = new Map<string, Promise<HistoryPage>>();
  /** Broker reads actually made (the rest were shared). */
  reads = 0;

  constructor(private readonly broker: Broker) {}

  read(shard: number, start: ReadStart, limit: number): Promise<HistoryPage> {
    const from = start === 'earliest' ? 'earliest' : encodeEventId([start]);
    const key = `${shard}|${from}|${limit}`;
    const shared = this.#inFlight.get(key);
    if (shared !== undefined) return shared;
    this.reads += 1;
    const read = this.broker.readAfter(shard, start, limit).finally(() => {
      this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, read);
    return read;
  }
}
