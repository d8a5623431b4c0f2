/**
 * A broker for testing the HTTP layer's hand-offs (DESIGN.md: "test the HTTP layer against a fake
 * broker that delays subscription confirmations and injects gaps"). It wraps the real embedded
 * broker, so history and ids are real; it only changes timing and relay delivery:
 * - `acquire()` resolves after `confirmDelayMs`, like a Redis SUBSCRIBE round trip under load;
 * - `dropRelay(n)` stores the next n published events but does not relay them (a relay that
 *   missed them), and `signalGap(shard)` then reports the gap, as a Redis relay that could not
 *   backfill would;
 * - `goDown()` / `goUp()` flip broker health.
 */
import type { Cursor, Pattern } from '@ssehub/protocol';
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
} from '../../src/index.js';
import { EmbeddedBroker, GatewayError, type EmbeddedBrokerOptions } from '../../src/index.js';
import { sleep } from './timing.js';

export interface FakeBrokerOptions extends EmbeddedBrokerOptions {
  /** Delay before an interest is live, in ms. @defaultValue 50 */
  readonly confirmDelayMs?: number;
}

export class FakeBroker implements Broker {
  readonly kind = 'fake';
  readonly shardCount = 1;
  readonly inner: EmbeddedBroker;
  readonly registry;
  confirmDelayMs: number;
  /** Interests currently held (acquired and not released). */
  liveInterests = 0;
  /** When true, history reads reject (broker trouble). */
  failReads = false;
  #sink: BrokerSink | undefined;
  #dropNext = 0;
  #up = true;

  constructor(options: FakeBrokerOptions) {
    this.inner = new EmbeddedBroker(options);
    this.registry = this.inner.registry;
    this.confirmDelayMs = options.confirmDelayMs ?? 50;
  }

  shardOf(): number {
    return 0;
  }

  async start(sink: BrokerSink): Promise<void> {
    this.#sink = sink;
    // The inner broker relays to us; we decide what reaches the gateway.
    await this.inner.start({
      onEvent: (event: BrokerEvent) => {
        if (this.#dropNext > 0) {
          this.#dropNext -= 1;
          return;
        }
        sink.onEvent(event);
      },
      onUp: () => {
        sink.onUp();
      },
      onDown: () => {
        sink.onDown();
      },
      onGap: (shard) => {
        sink.onGap(shard);
      },
    });
  }

  isUp(): boolean {
    return this.#up && this.inner.isUp();
  }

  publish(batch: readonly PublishInput[]): Promise<PublishResult> {
    if (!this.#up) {
      return Promise.reject(new GatewayError('BROKER_UNAVAILABLE', 'fake broker: down'));
    }
    return this.inner.publish(batch);
  }

  async acquire(patterns: readonly Pattern[]): Promise<Interest> {
    await sleep(this.confirmDelayMs);
    const interest = await this.inner.acquire(patterns);
    this.liveInterests += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.liveInterests -= 1;
        interest.release();
      },
    };
  }

  head(shard: number): Promise<Cursor> {
    return this.inner.head(shard);
  }

  syncPoint(shard: number): Promise<Cursor> {
    return this.inner.syncPoint(shard);
  }

  readAfter(shard: number, start: ReadStart, limit: number): Promise<HistoryPage> {
    if (this.failReads) return Promise.reject(new Error('fake broker: history unreadable'));
    return this.inner.readAfter(shard, start, limit);
  }

  historyLength(): Promise<number> {
    return this.inner.historyLength();
  }

  counters(): BrokerCounters {
    return this.inner.counters();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The next `count` published events are stored but not relayed. */
  dropRelay(count: number): void {
    this.#dropNext += count;
  }

  /** Reports a relay gap on a shard, as a Redis relay that could not backfill would. */
  signalGap(shard = 0): void {
    this.#sink?.onGap(shard);
  }

  goDown(): void {
    this.#up = false;
    this.#sink?.onDown();
  }

  goUp(): void {
    this.#up = true;
    this.#sink?.onUp();
  }
}

/** The fixture's broker as a FakeBroker (fails the test when it is another kind). */
export function fakeBrokerOf(fixture: { readonly broker: Broker }): FakeBroker {
  if (!(fixture.broker instanceof FakeBroker)) {
    throw new Error(`expected the fake broker, got ${fixture.broker.kind}`);
  }
  return fixture.broker;
}
