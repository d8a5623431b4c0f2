/**
 * The embedded broker's history: a ring buffer of the newest events, bounded by count and age
 * (SPEC 5: at least the last `HISTORY_SIZE` events younger than `HISTORY_TTL_MS`). Sequence
 * numbers are contiguous, so "is anything missing after position n" is exact arithmetic.
 */
export interface RingEntry<T> {
  readonly seq: number;
  readonly at: number;
  readonly value: T;
}

export class HistoryRing<T> {
  readonly #slots: (RingEntry<T> | undefined)[];
  /** Index of the oldest entry in #slots. */
  #start = 0;
  #length = 0;

  /**
   * @param capacity - events kept at most; 0 keeps none (history off).
   * @param ttlMs - events older than this many ms are dropped on the next access.
   */
  constructor(
    readonly capacity: number,
    readonly ttlMs: number,
  ) {
    this.#slots = new Array<RingEntry<T> | undefined>(capacity);
  }

  get length(): number {
    return this.#length;
  }

  /** Sequence number of the oldest retained entry, or undefined when empty. */
  get firstSeq(): number | undefined {
    return this.#slots[this.#start]?.seq;
  }

  push(entry: RingEntry<T>): void {
    if (this.capacity === 0) return;
    if (this.#length === this.capacity) {
      this.#slots[this.#start] = entry;
      this.#start = (this.#start + 1) % this.capacity;
      return;
    }
    this.#slots[(this.#start + this.#length) % this.capacity] = entry;
    this.#length += 1;
  }

  /** Drops entries older than the TTL. */
  expire(now: number): void {
    const oldestAllowed = now - this.ttlMs;
    while (this.#length > 0) {
      const oldest = this.#slots[this.#start];
      if (oldest === undefined || oldest.at >= oldestAllowed) return;
      this.#slots[this.#start] = undefined;
      this.#start = (this.#start + 1) % this.capacity;
      this.#length -= 1;
    }
  }

  /** Up to `limit` entries with seq > `afterSeq`, oldest first. */
  after(afterSeq: number, limit: number): RingEntry<T>[] {
    const first = this.firstSeq;
    if (first === undefined) return [];
    const skip = Math.max(0, afterSeq + 1 - first);
    const out: RingEntry<T>[] = [];
    for (let i = skip; i < this.#length && out.length < limit; i++) {
      const entry = this.#slots[(this.#start + i) % this.capacity];
      if (entry !== undefined) out.push(entry);
    }
    return out;
  }
}
