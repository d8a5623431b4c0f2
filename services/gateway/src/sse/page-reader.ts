/**
 * History reads for replay, shared: connections of this replica that ask for the same page (a
 * storm of clients resuming from the same id after a replica died) get one broker read between
 * them, whether they ask at the same moment or within {@link KEEP_MS} of each other (their
 * reconnects are spread by the `retry:` jitter).
 *
 * A page may serve a caller only if it covers everything the caller does not hold: the caller
 * holds every live event once its interest is live, and every event from before that is at or
 * below the shard's head read right after (its `floor`). So a page read when the shard's newest
 * position was at or above the floor contains, or is followed by pages that contain, every event
 * the caller needs; an older page may lack some, and the caller reads its own.
 */
import { comparePositions, encodeEventId, type Cursor } from '@ssehub/protocol';
import type { Broker, HistoryPage, ReadStart } from '../broker/broker.js';

/** How long a completed page stays available for sharing, in ms. */
export const KEEP_MS = 250;

export class PageReader {
  readonly #pages = new Map<string, Promise<HistoryPage>>();
  /** Broker reads actually made (the rest were shared). */
  reads = 0;
  /** Reads answered from another caller's page. */
  shared = 0;

  constructor(private readonly broker: Broker) {}

  /**
   * Reads up to `limit` events of `shard` after `start`. `floor` is the shard's head read once
   * the caller's interest was live (undefined: any page serves).
   */
  async read(
    shard: number,
    start: ReadStart,
    limit: number,
    floor: Cursor | undefined,
  ): Promise<HistoryPage> {
    const key = `${shard}|${start === 'earliest' ? 'earliest' : encodeEventId([start])}|${limit}`;
    const existing = this.#pages.get(key);
    if (existing !== undefined) {
      const page = await existing.catch(() => undefined);
      if (page !== undefined && covers(page, floor)) {
        this.shared += 1;
        return page;
      }
    }
    this.reads += 1;
    const read = this.broker.readAfter(shard, start, limit);
    this.#pages.set(key, read);
    const forget = (): void => {
      if (this.#pages.get(key) === read) this.#pages.delete(key);
    };
    read.then(
      () => {
        setTimeout(forget, KEEP_MS).unref();
      },
      forget, // a failed read is never shared
    );
    return read;
  }
}

/** True when the page was read late enough to serve a caller whose floor is `floor`. */
function covers(page: HistoryPage, floor: Cursor | undefined): boolean {
  // Verdicts other than ok only get firmer with time (trimming moves on, lost stays lost).
  if (page.verdict !== 'ok') return true;
  if (floor === undefined) return true;
  const newest = page.newest;
  return (
    newest !== undefined &&
    newest.epoch === floor.epoch &&
    comparePositions(newest.position, floor.position) >= 0
  );
}
