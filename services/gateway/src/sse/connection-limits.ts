/**
 * The three per-replica connection limits of SPEC 6. A slot is taken before a stream opens and
 * given back exactly once when it closes, so counts cannot drift.
 */
export interface ConnectionLimitsOptions {
  /** Streams on this replica (`MAX_CONNECTIONS`, 50000 when unset). */
  readonly maxConnections: number;
  /** Streams per client address (`MAX_CONNECTIONS_PER_IP`, 1000 when unset). */
  readonly maxConnectionsPerIp: number;
  /** Streams per authenticated subject (`MAX_CONNECTIONS_PER_SUBJECT`, 100 when unset). */
  readonly maxConnectionsPerSubject: number;
}

export interface Slot {
  release(): void;
}

export class ConnectionLimits {
  #total = 0;
  readonly #perIp = new Map<string, number>();
  readonly #perSubject = new Map<string, number>();

  constructor(private readonly options: ConnectionLimitsOptions) {}

  get total(): number {
    return this.#total;
  }

  /** Takes a slot, or returns undefined when any limit is reached. */
  tryAcquire(ip: string, subject: string | undefined): Slot | undefined {
    if (this.#total >= this.options.maxConnections) return undefined;
    if ((this.#perIp.get(ip) ?? 0) >= this.options.maxConnectionsPerIp) return undefined;
    if (
      subject !== undefined &&
      (this.#perSubject.get(subject) ?? 0) >= this.options.maxConnectionsPerSubject
    ) {
      return undefined;
    }
    this.#total += 1;
    increment(this.#perIp, ip, 1);
    if (subject !== undefined) increment(this.#perSubject, subject, 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#total -= 1;
        increment(this.#perIp, ip, -1);
        if (subject !== undefined) increment(this.#perSubject, subject, -1);
      },
    };
  }
}

function increment(map: Map<string, number>, key: string, by: number): void {
  const next = (map.get(key) ?? 0) + by;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}
