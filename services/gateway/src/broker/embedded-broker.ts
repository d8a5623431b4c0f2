/**
 * The embedded in-memory broker (SPEC 9, `REDIS_URL` unset): one replica, one shard, the same
 * API and history semantics as the Redis broker. Ids are built like Redis ones: a random epoch
 * chosen at boot plus a contiguous sequence, so an id from before a restart reads as
 * `unknown_id` (never as a wrong position) and trimming is detected exactly.
 */
import { newEpoch, type Cursor, type Pattern, encodeEventId } from '@ssehub/protocol';
import { GatewayError } from '../errors.js';
import type {
  Broker,
  BrokerCounters,
  BrokerEvent,
  BrokerSink,
  HistoryPage,
  Interest,
  PublishInput,
  PublishResult,
  ReadStart,
} from './broker.js';
import { HistoryRing } from './history-ring.js';
import {
  IdempotencyCache,
  contentDigest,
  idempotencyConflict as conflict,
} from './idempotency-cache.js';
import { LocalRegistry } from './local-registry.js';

/**
 * Settings of the {@link EmbeddedBroker}. The gateway passes its own settings; the values it
 * uses when none are set are given with each field.
 */
export interface EmbeddedBrokerOptions {
  /** Events kept for resume; 0 turns history off. The gateway passes `HISTORY_SIZE` (10000). */
  readonly historySize: number;
  /** Events older than this are dropped, in ms. The gateway passes `HISTORY_TTL_MS` (3600000). */
  readonly historyTtlMs: number;
  /** How long an idempotency key is remembered, in ms. The gateway passes `IDEMPOTENCY_TTL_MS` (300000). */
  readonly idempotencyTtlMs: number;
  /** Clock, in ms since the Unix epoch; tests may pass a fake one. @defaultValue Date.now */
  readonly now?: () => number;
  /** The epoch; random when omitted (tests may fix it). */
  readonly epoch?: string;
}

const NO_INTEREST: Interest = { release: () => undefined };

/**
 * The broker of a single replica: history in memory (a ring per shard, one shard), publishes
 * handed to the fan-out synchronously, no Redis. What `pnpm start` runs; state is lost when the
 * process ends, so it is for development, tests and one-replica deployments.
 *
 * @example
 * const gateway = createGateway({ broker: new EmbeddedBroker({ historySize: 100, historyTtlMs: 60_000, idempotencyTtlMs: 60_000 }) });
 */
export class EmbeddedBroker implements Broker {
  readonly kind = 'embedded';
  readonly shardCount = 1;
  readonly registry = new LocalRegistry();
  readonly epoch: string;

  readonly #history: HistoryRing<BrokerEvent>;
  readonly #idempotency: IdempotencyCache;
  readonly #now: () => number;
  #sink: BrokerSink | undefined;
  #lastSeq = 0;
  #closed = false;

  constructor(readonly options: EmbeddedBrokerOptions) {
    this.epoch = options.epoch ?? newEpoch();
    this.#history = new HistoryRing(options.historySize, options.historyTtlMs);
    this.#idempotency = new IdempotencyCache(options.idempotencyTtlMs);
    this.#now = options.now ?? Date.now;
  }

  shardOf(_topic: string): number {
    return 0;
  }

  start(sink: BrokerSink): Promise<void> {
    this.#sink = sink;
    return Promise.resolve();
  }

  isUp(): boolean {
    return !this.#closed;
  }

  publish(batch: readonly PublishInput[]): Promise<PublishResult> {
    if (this.#closed) {
      return Promise.reject(new GatewayError('BROKER_UNAVAILABLE', 'The broker is closed.'));
    }
    // A conflict must reject the promise, not throw at the call (Broker.publish's contract).
    try {
      return Promise.resolve(this.#publish(batch));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #publish(batch: readonly PublishInput[]): PublishResult {
    const now = this.#now();
    // Pass 1 decides every event before anything is stored: one shard, all or nothing (SPEC 7).
    const digests = batch.map((e) =>
      e.idempotencyKey === undefined ? undefined : contentDigest(e.topic, e.event, e.data),
    );
    const inBatch = new Map<string, { digest: string; index: number }>();
    const repeats = new Map<number, string | number>(); // index -> known id, or index of the first in this batch
    for (const [index, input] of batch.entries()) {
      const key = input.idempotencyKey;
      const digest = digests[index];
      if (key === undefined || digest === undefined) continue;
      const earlier = inBatch.get(key);
      if (earlier !== undefined) {
        if (earlier.digest !== digest) throw conflict(key);
        repeats.set(index, earlier.index);
        continue;
      }
      const verdict = this.#idempotency.check(key, digest, now);
      if (verdict.kind === 'conflict') throw conflict(key);
      if (verdict.kind === 'repeat') repeats.set(index, verdict.id);
      else inBatch.set(key, { digest, index });
    }

    // Pass 2 stores and relays, in order.
    this.#history.expire(now);
    const ids: string[] = [];
    const stored: BrokerEvent[] = [];
    for (const [index, input] of batch.entries()) {
      const repeat = repeats.get(index);
      if (typeof repeat === 'string') {
        ids.push(repeat);
        continue;
      }
      if (typeof repeat === 'number') {
        ids.push(ids[repeat] ?? '');
        continue;
      }
      this.#lastSeq += 1;
      const cursor = this.#cursorAt(this.#lastSeq);
      const event: BrokerEvent = {
        topic: input.topic,
        event: input.event,
        data: input.data,
        publishedAt: now,
        cursor,
      };
      this.#history.push({ seq: this.#lastSeq, at: now, value: event });
      const id = encodeEventId([cursor]);
      ids.push(id);
      const key = input.idempotencyKey;
      const digest = digests[index];
      if (key !== undefined && digest !== undefined)
        this.#idempotency.remember(key, digest, id, now);
      stored.push(event);
    }
    for (const event of stored) this.#sink?.onEvent(event);
    return { ids, stored: stored.length };
  }

  acquire(_patterns: readonly Pattern[]): Promise<Interest> {
    // Every event reaches the sink already; the gateway's matcher picks the recipients.
    return Promise.resolve(NO_INTEREST);
  }

  head(_shard = 0): Promise<Cursor> {
    return Promise.resolve(this.#cursorAt(this.#lastSeq));
  }

  syncPoint(_shard = 0): Promise<Cursor> {
    // publish() hands events to the sink synchronously, so the head has always been delivered.
    return this.head();
  }

  readAfter(shard: number, start: ReadStart, limit: number): Promise<HistoryPage> {
    this.#history.expire(this.#now());
    if (start === 'earliest')
      return Promise.resolve(this.#page((this.#history.firstSeq ?? 1) - 1, limit));
    const seq = start.position.ms;
    if (
      start.epoch !== this.epoch ||
      start.shard !== shard ||
      shard !== 0 ||
      start.position.seq !== 0
    ) {
      return Promise.resolve({ verdict: 'unknown' });
    }
    if (seq > this.#lastSeq) return Promise.resolve({ verdict: 'unknown' });
    // SPEC 5: with history off, every resume is history_trimmed.
    if (this.#history.capacity === 0) return Promise.resolve({ verdict: 'trimmed' });
    const firstRetained = this.#history.firstSeq ?? this.#lastSeq + 1;
    if (seq < firstRetained - 1) return Promise.resolve({ verdict: 'trimmed' });
    return Promise.resolve(this.#page(seq, limit));
  }

  historyLength(): Promise<number> {
    this.#history.expire(this.#now());
    return Promise.resolve(this.#history.length);
  }

  counters(): BrokerCounters {
    // In-process: no connection to lose, nothing foreign to receive, no breaker.
    return { relayDisconnects: 0, skippedMessages: {}, breakerState: 0 };
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #page(afterSeq: number, limit: number): HistoryPage {
    const entries = this.#history.after(afterSeq, limit);
    const last = entries.at(-1);
    const done = entries.length < limit || last === undefined || last.seq >= this.#lastSeq;
    return {
      verdict: 'ok',
      events: entries.map((e) => e.value),
      done,
      newest: this.#cursorAt(this.#lastSeq),
    };
  }

  #cursorAt(seq: number): Cursor {
    // The embedded broker's position is a plain sequence number, stored in the `ms` half.
    return { epoch: this.epoch, shard: 0, position: { ms: seq, seq: 0 } };
  }
}
