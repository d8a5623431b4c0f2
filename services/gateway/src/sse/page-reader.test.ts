import { describe, expect, it } from 'vitest';
import type { Cursor } from '@ssehub/protocol';
import type { HistoryPage, ReadStart } from '../broker/broker.js';
import { EmbeddedBroker } from '../broker/embedded-broker.js';
import { PageReader } from './page-reader.js';

interface PendingRead {
  readonly shard: number;
  readonly start: ReadStart;
  readonly limit: number;
  readonly resolve: (page: HistoryPage) => void;
}

/** A broker whose history reads stay in flight until the test resolves them. */
class DeferredBroker extends EmbeddedBroker {
  readonly pending: PendingRead[] = [];

  constructor() {
    super({ historySize: 10, historyTtlMs: 60_000, idempotencyTtlMs: 60_000, epoch: 'Ep0c' });
  }

  override readAfter(shard: number, start: ReadStart, limit: number): Promise<HistoryPage> {
    return new Promise((resolve) => this.pending.push({ shard, start, limit, resolve }));
  }

  settle(index: number, page: HistoryPage): void {
    const read = this.pending[index];
    if (read === undefined) throw new Error(`no read ${index}`);
    read.resolve(page);
  }
}

const at = (seq: number): Cursor => ({ epoch: 'Ep0c', shard: 0, position: { ms: seq, seq: 0 } });
const page = (newest: number): HistoryPage => ({
  verdict: 'ok',
  events: [],
  done: true,
  newest: at(newest),
});

describe('PageReader', () => {
  it('shares one read in flight between callers the page covers', async () => {
    const broker = new DeferredBroker();
    const reader = new PageReader(broker);
    const first = reader.read(0, at(3), 200, at(5));
    const second = reader.read(0, at(3), 200, at(5));
    expect(broker.pending).toHaveLength(1);
    const read = page(7);
    broker.settle(0, read);
    expect(await first).toBe(read);
    expect(await second).toBe(read);
    expect(reader.reads).toBe(1);
    expect(reader.shared).toBe(1);
  });

  it('lets a completed page serve later callers for a moment (reconnects spread by retry jitter)', async () => {
    const broker = new DeferredBroker();
    const reader = new PageReader(broker);
    const first = reader.read(0, at(3), 200, at(5));
    const read = page(7);
    broker.settle(0, read);
    await first;
    expect(await reader.read(0, at(3), 200, at(7))).toBe(read);
    expect(reader.reads).toBe(1);
  });

  it('reads again for a caller whose floor is above what the page saw (it could miss events)', async () => {
    const broker = new DeferredBroker();
    const reader = new PageReader(broker);
    const first = reader.read(0, at(3), 200, at(5));
    broker.settle(0, page(5));
    await first;
    // Registered after event 6 was dispatched: a page read when the newest was 5 lacks it.
    const late = reader.read(0, at(3), 200, at(6));
    await Promise.resolve();
    await Promise.resolve();
    expect(broker.pending).toHaveLength(2);
    const fresh = page(6);
    broker.settle(1, fresh);
    expect(await late).toBe(fresh);
    expect(reader.reads).toBe(2);
  });

  it('never shares a page of another epoch, or one from a broker that does not say its newest', async () => {
    const broker = new DeferredBroker();
    const reader = new PageReader(broker);
    const first = reader.read(0, at(3), 200, at(5));
    broker.settle(0, { verdict: 'ok', events: [], done: true });
    await first;
    const other = reader.read(0, at(3), 200, { ...at(5), epoch: 'Zzzz' });
    await Promise.resolve();
    await Promise.resolve();
    expect(broker.pending).toHaveLength(2);
    broker.settle(1, page(9));
    await other;
    expect(reader.reads).toBe(2);
  });

  it('keeps different pages apart: shard, start and limit', () => {
    const broker = new DeferredBroker();
    const reader = new PageReader(broker);
    void reader.read(0, at(3), 200, at(3));
    void reader.read(0, at(4), 200, at(3));
    void reader.read(0, 'earliest', 200, at(3));
    void reader.read(0, at(3), 100, at(3));
    void reader.read(1, { ...at(3), shard: 1 }, 200, undefined);
    expect(reader.reads).toBe(5);
    expect(broker.pending.map((r) => [r.shard, r.start, r.limit])).toEqual([
      [0, at(3), 200],
      [0, at(4), 200],
      [0, 'earliest', 200],
      [0, at(3), 100],
      [1, { ...at(3), shard: 1 }, 200],
    ]);
  });
});
