/**
 * The publishing workload: SDK publishers straight to Redis (through the proxies) and HTTP
 * publishers on the gateways' admin ports, at a steady total rate. Each event's data is its
 * unique key (`<publisher>:<seq>`), which is also its idempotency key, so a failed attempt is
 * retried with backoff without storing it twice. Every event is recorded as accepted (with the id
 * of the first acknowledgement), unknown (never acknowledged) or rejected (a 4xx).
 */
import { PublisherError, createPublisher, type Publisher } from '@ssehub/publisher';
import type { PublishRecord } from './history.js';
import type { GatewayNode } from './gateway.js';
import type { Rng } from './prng.js';
import type { Topology } from './topology.js';

/** Topics spread over a small tree and, with three shards, over every shard (t, u, w). */
export const TOPICS = ['t/a', 't/b/c', 't/b/d', 'u/x', 'u/y/z', 'w/q', 'w/r/s'] as const;

/** Options of {@link Workload}. */
export interface WorkloadOptions {
  readonly rng: Rng;
  readonly topology: Topology;
  readonly gateways: readonly GatewayNode[];
  /** Milliseconds since the run started. */
  readonly now: () => number;
  /** The topics to publish on, picked at random per event. @defaultValue {@link TOPICS} */
  readonly topics?: readonly string[];
  /** Events per second over all publishers. @defaultValue 150 */
  readonly ratePerSecond?: number;
  /** @defaultValue 2 */
  readonly sdkPublishers?: number;
  /** @defaultValue 2 */
  readonly httpPublishers?: number;
  /** Publishes allowed in flight per publisher; a tick over it is skipped. @defaultValue 40 */
  readonly maxInFlight?: number;
}

/** Codes that say for sure nothing was stored: retrying cannot help. */
const DEFINITE = new Set([
  'INVALID_TOPIC',
  'INVALID_EVENT_NAME',
  'EVENT_TOO_LARGE',
  'INVALID_DATA',
  'IDEMPOTENCY_CONFLICT',
  'INVALID_OPTIONS',
]);

type Attempt =
  | { readonly kind: 'ok'; readonly id: string }
  | { readonly kind: 'retry'; readonly error: string }
  | { readonly kind: 'rejected'; readonly error: string };

/** One publisher: a name and a way to make one attempt. */
interface Sender {
  readonly name: string;
  attempt(topic: string, key: string): Promise<Attempt>;
  close(): Promise<void>;
}

function sdkSender(name: string, topology: Topology): Sender {
  const publisher: Publisher = createPublisher({
    redis: topology.sdkRedis(),
    shards: topology.shards,
    commandTimeoutMs: 1500,
    breaker: { resetTimeoutMs: 500 },
  });
  return {
    name,
    async attempt(topic, key) {
      try {
        const id = await publisher.publish(topic, key, { event: 'y', idempotencyKey: key });
        return { kind: 'ok', id };
      } catch (err) {
        if (err instanceof PublisherError && DEFINITE.has(err.code)) {
          return { kind: 'rejected', error: `${err.code}: ${err.message}` };
        }
        const text = err instanceof PublisherError ? err.code : String(err);
        return { kind: 'retry', error: text };
      }
    },
    close: () => publisher.close(),
  };
}

function httpSender(name: string, gateways: readonly GatewayNode[], rng: Rng): Sender {
  return {
    name,
    async attempt(topic, key) {
      const gateway = rng.pick(gateways);
      try {
        const res = await fetch(`${gateway.adminUrl}/publish/${topic}?event=x`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain', 'idempotency-key': key },
          body: key,
          signal: AbortSignal.timeout(3000),
        });
        const text = await res.text();
        if (res.status === 200) {
          const body = JSON.parse(text) as { id?: unknown };
          if (typeof body.id === 'string') return { kind: 'ok', id: body.id };
          return { kind: 'retry', error: `200 without an id: ${text.slice(0, 200)}` };
        }
        if (res.status >= 400 && res.status < 500) {
          return { kind: 'rejected', error: `${res.status} ${text.slice(0, 200)}` };
        }
        return { kind: 'retry', error: `${res.status} ${text.slice(0, 120)}` };
      } catch (err) {
        return { kind: 'retry', error: `${gateway.name}: ${String(err)}` };
      }
    },
    close: () => Promise.resolve(),
  };
}

/** Runs the publishers until {@link Workload.stop}. */
export class Workload {
  /** Every event attempted, in the order first attempted. */
  readonly records: PublishRecord[] = [];
  readonly #senders: Sender[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #inFlight = new Map<string, number>();
  readonly #pending = new Set<Promise<void>>();
  #stopping = false;
  #frozen = false;

  constructor(private readonly options: WorkloadOptions) {}

  /** Starts every publisher. */
  start(): void {
    const o = this.options;
    const sdk = o.sdkPublishers ?? 2;
    const http = o.httpPublishers ?? 2;
    for (let i = 0; i < sdk; i++) this.#senders.push(sdkSender(`sdk${i}`, o.topology));
    for (let i = 0; i < http; i++) {
      this.#senders.push(httpSender(`http${i}`, o.gateways, o.rng.fork()));
    }
    const total = o.ratePerSecond ?? 150;
    const interval = Math.max(1, Math.round((1000 * this.#senders.length) / total));
    for (const sender of this.#senders) {
      const rng = o.rng.fork();
      let seq = 0;
      this.#inFlight.set(sender.name, 0);
      this.#timers.push(
        setInterval(() => {
          if (this.#stopping) return;
          if ((this.#inFlight.get(sender.name) ?? 0) >= (o.maxInFlight ?? 40)) return;
          seq += 1;
          const key = `${sender.name}:${String(seq).padStart(6, '0')}`;
          this.#publish(sender, rng.pick(o.topics ?? TOPICS), key, rng);
        }, interval),
      );
    }
  }

  #publish(sender: Sender, topic: string, key: string, rng: Rng): void {
    const record: PublishRecord = {
      key,
      topic,
      publisher: sender.name,
      firstAttemptAt: this.options.now(),
      status: 'unknown',
      ids: [],
      attempts: 0,
    };
    this.records.push(record);
    this.#inFlight.set(sender.name, (this.#inFlight.get(sender.name) ?? 0) + 1);
    const done = (async (): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        if (this.#frozen) return;
        record.attempts += 1;
        const result = await sender.attempt(topic, key);
        // stop() may have frozen the records while this attempt was in flight.
        if (this.#isFrozen()) return;
        if (result.kind === 'ok') {
          if (!record.ids.includes(result.id)) record.ids.push(result.id);
          if (record.status !== 'accepted') {
            record.status = 'accepted';
            record.id = result.id;
            record.acceptedAt = this.options.now();
          }
          return;
        }
        record.lastError = result.error;
        if (result.kind === 'rejected') {
          record.status = 'rejected';
          return;
        }
        // Keep retrying after stop() too, until the final deadline: a publish that Redis
        // accepted late must still be known as accepted.
        const backoff = Math.min(2000, 50 * 2 ** Math.min(attempt, 6));
        await new Promise((r) => setTimeout(r, backoff * (0.5 + rng.next())));
      }
    })().finally(() => {
      this.#inFlight.set(sender.name, (this.#inFlight.get(sender.name) ?? 1) - 1);
      this.#pending.delete(done);
    });
    this.#pending.add(done);
  }

  #isFrozen(): boolean {
    return this.#frozen;
  }

  /** Stops publishing new events. */
  stopPublishing(): void {
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
  }

  /**
   * Waits up to `settleMs` for publishes in flight to end (their retries go on meanwhile), then
   * freezes the records: anything still unacknowledged stays `unknown`. Closes the publishers.
   */
  async stop(settleMs = 20_000): Promise<void> {
    this.stopPublishing();
    const deadline = Date.now() + settleMs;
    while (this.#pending.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    this.#frozen = true;
    await Promise.all(this.#senders.map((s) => s.close().catch(() => undefined)));
  }
}
