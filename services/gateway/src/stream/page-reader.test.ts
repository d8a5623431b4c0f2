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
const EMPTY: HistoryPage = { verdict: 'ok', events: [], done: true };

describe('PageReader', () => {
  it('shares a read in flight with callers whose ticket is older than the read', async () => {
    const broker = new DeferredBroker();
    const reader = new PageReader(broker);
    const since = reader.ticket();
    const first = reader.read(0, at(3), 200, since);
    const second = reader.read(0, at(3), 200, since);
    expect(reader.reads).toBe(1);
    expect(broker.pending).toHaveLength(1);
    broker.settle(0, EMPTY);
    expect(await first).toBe(EMPTY);
    expect(await second).toBe(EMPTY);
  });

  it('does not share a read issued before the caller started holding live events', async () => {
    const broker = new DeferredBroker();
    const reader = new PageReader(broker);
    const early = reader.read(0, at(3), 200, reader.ticket());
    const lateSince = reader.ticket(); // a connection registered after the first read was issued
    const late = reader.read(0, at(3), 200, lateSince);
    expect(reader.reads).toBe(2);
    expect(broker.pending).toHaveLength(2);
    // A third caller from before the second read may share the second one.
    const third = reader.read(0, at(3), 200, lateSince);
    expect(reader.reads).toBe(2);
    const newer: HistoryPage = { verdict: 'trimmed' };
    broker.settle(0, EMPTY); // the older read finishing must not drop the newer one from the table
    expect(await early).toBe(EMPTY);
    const fourth = reader.read(0, at(3), 200, lateSince);
    expect(reader.reads).toBe(2);
    broker.settle(1, newer);
    expect(await late).toBe(newer);
    expect(await third).toBe(newer);
    expect(await fourth).toBe(newer);
  });

  it('keeps different pages apart: shard, start and limit', () => {
    const broker = new DeferredBroker();
    const reader = new PageReader(broker);
    const since = reader.ticket();
    void reader.read(0, at(3), 200, since);
    void reader.read(0, at(4), 200, since);
    void reader.read(0, 'earliest', 200, since);
    void reader.read(0, at(3), 100, since);
    void reader.read(1, { ...at(3), shard: 1 }, 200, since);
    expect(reader.reads).toBe(5);
    expect(broker.pending.map((r) => [r.shard, r.start, r.limit])).toEqual([
      [0, at(3), 200],
      [0, at(4), 200],
      [0, 'earliest', 200],
      [0, at(3), 100],
      [1, { ...at(3), shard: 1 }, 200],
    ]);
  });

  it('reads again once a read has finished (nothing is cached)', async () => {
    const broker = new DeferredBroker();
    const reader = new PageReader(broker);
    const since = reader.ticket();
    const first = reader.read(0, at(3), 200, since);
    broker.settle(0, EMPTY);
    await first;
    void reader.read(0, at(3), 200, since);
    expect(reader.reads).toBe(2);
  });

  it('hands out increasing tickets', () => {
    const reader = new PageReader(new DeferredBroker());
    const a = reader.ticket();
    const b = reader.ticket();
    expect(b).toBeGreaterThan(a);
  });
});
