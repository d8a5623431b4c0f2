import { decodeEventId, encodeEventId, parsePattern, type Cursor } from '@ssehub/protocol';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { BrokerEvent, HistoryPage, PublishInput } from './broker.js';
import { EmbeddedBroker, type EmbeddedBrokerOptions } from './embedded-broker.js';

const EPOCH = 'Ep0c';

interface Harness {
  readonly broker: EmbeddedBroker;
  readonly received: BrokerEvent[];
  /** The injected clock, in ms. */
  time: number;
}

async function harness(options: Partial<EmbeddedBrokerOptions> = {}): Promise<Harness> {
  const h: { broker?: EmbeddedBroker; received: BrokerEvent[]; time: number } = {
    received: [],
    time: 1_000_000,
  };
  const broker = new EmbeddedBroker({
    historySize: 100,
    historyTtlMs: 60_000,
    idempotencyTtlMs: 30_000,
    epoch: EPOCH,
    now: () => h.time,
    ...options,
  });
  await broker.start({
    onEvent: (e) => h.received.push(e),
    onUp: () => undefined,
    onDown: () => undefined,
    onGap: () => undefined,
  });
  h.broker = broker;
  return h as Harness;
}

const input = (topic: string, data: string, extra: Partial<PublishInput> = {}): PublishInput => ({
  topic,
  event: undefined,
  data,
  idempotencyKey: undefined,
  ...extra,
});

async function publishMany(broker: EmbeddedBroker, count: number, topic = 't'): Promise<string[]> {
  return broker
    .publish(Array.from({ length: count }, (_, i) => input(topic, `e${i + 1}`)))
    .then((r) => r.ids);
}

function cursorOf(id: string): Cursor {
  const [cursor] = decodeEventId(id);
  if (cursor === undefined) throw new Error(`no cursor in ${id}`);
  return cursor;
}

const at = (seq: number, epoch = EPOCH, shard = 0): Cursor => ({
  epoch,
  shard,
  position: { ms: seq, seq: 0 },
});

function dataOf(page: HistoryPage): string[] {
  if (page.verdict !== 'ok') throw new Error(`expected an ok page, got ${page.verdict}`);
  return page.events.map((e) => e.data);
}

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('EmbeddedBroker: publishing and ids', () => {
  it('assigns ids of one shard in the fixed epoch, position by position', async () => {
    const { broker } = await harness();
    const ids = await publishMany(broker, 3);
    expect(ids.map(cursorOf)).toEqual([at(1), at(2), at(3)]);
    for (const id of ids) expect(id).toMatch(/^[0-9A-Za-z._,:-]{1,256}$/);
    expect(await broker.head(0)).toEqual(at(3));
    expect(await broker.syncPoint(0)).toEqual(at(3));
    expect(broker.shardOf('any/topic')).toBe(0);
  });

  it('picks a random 4-character epoch when none is given', () => {
    const a = new EmbeddedBroker({ historySize: 1, historyTtlMs: 1, idempotencyTtlMs: 1 });
    expect(a.epoch).toMatch(/^[0-9A-Za-z]{4}$/);
  });

  it('starts at position 0', async () => {
    const { broker } = await harness();
    expect(await broker.head(0)).toEqual(at(0));
  });

  it('hands each event to the sink in order, with its cursor and publish time', async () => {
    const h = await harness();
    const ids = await h.broker
      .publish([input('a/b', 'one', { event: 'named' }), input('c', 'two')])
      .then((r) => r.ids);
    expect(h.received).toEqual([
      {
        topic: 'a/b',
        event: 'named',
        data: 'one',
        publishedAt: 1_000_000,
        cursor: cursorOf(ids[0] ?? ''),
      },
      {
        topic: 'c',
        event: undefined,
        data: 'two',
        publishedAt: 1_000_000,
        cursor: cursorOf(ids[1] ?? ''),
      },
    ]);
  });

  it('makes every pattern live at once (the matcher picks recipients)', async () => {
    const { broker } = await harness();
    const interest = await broker.acquire([parsePattern('a/**')]);
    expect(() => {
      interest.release();
    }).not.toThrow();
  });

  it('refuses to publish once closed', async () => {
    const { broker } = await harness();
    expect(broker.isUp()).toBe(true);
    await broker.close();
    expect(broker.isUp()).toBe(false);
    const err = await rejection(broker.publish([input('t', 'x')]).then((r) => r.ids));
    expect(err.code).toBe('BROKER_UNAVAILABLE');
  });
});

describe('EmbeddedBroker: idempotency', () => {
  it('returns the first id for a repeat and publishes nothing', async () => {
    const h = await harness();
    const [first] = await h.broker
      .publish([input('t', 'x', { idempotencyKey: 'k1' })])
      .then((r) => r.ids);
    const [again] = await h.broker
      .publish([input('t', 'x', { idempotencyKey: 'k1' })])
      .then((r) => r.ids);
    expect(again).toBe(first);
    expect(h.received).toHaveLength(1);
    expect(await h.broker.historyLength()).toBe(1);
  });

  it('answers IDEMPOTENCY_CONFLICT for other content and stores nothing of the batch', async () => {
    const h = await harness();
    await h.broker.publish([input('t', 'x', { idempotencyKey: 'k1' })]).then((r) => r.ids);
    for (const changed of [
      input('t', 'y', { idempotencyKey: 'k1' }),
      input('u', 'x', { idempotencyKey: 'k1' }),
      input('t', 'x', { idempotencyKey: 'k1', event: 'named' }),
    ]) {
      const err = await rejection(
        h.broker.publish([input('t', 'before'), changed]).then((r) => r.ids),
      );
      expect(err.code).toBe('IDEMPOTENCY_CONFLICT');
    }
    expect(h.received.map((e) => e.data)).toEqual(['x']);
    expect(await h.broker.historyLength()).toBe(1);
  });

  it('applies the same rule to a key repeated inside one batch', async () => {
    const h = await harness();
    const ids = await h.broker
      .publish([
        input('t', 'x', { idempotencyKey: 'k' }),
        input('t', 'other'),
        input('t', 'x', { idempotencyKey: 'k' }),
      ])
      .then((r) => r.ids);
    expect(ids[2]).toBe(ids[0]);
    expect(ids[1]).not.toBe(ids[0]);
    expect(h.received.map((e) => e.data)).toEqual(['x', 'other']);
    const err = await rejection(
      h.broker
        .publish([
          input('t', 'a', { idempotencyKey: 'j' }),
          input('t', 'b', { idempotencyKey: 'j' }),
        ])
        .then((r) => r.ids),
    );
    expect(err.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(h.received).toHaveLength(2);
  });

  it('forgets a key after IDEMPOTENCY_TTL_MS (injected clock)', async () => {
    const h = await harness({ idempotencyTtlMs: 500 });
    const [first] = await h.broker
      .publish([input('t', 'x', { idempotencyKey: 'k' })])
      .then((r) => r.ids);
    h.time += 499;
    expect(
      await h.broker.publish([input('t', 'x', { idempotencyKey: 'k' })]).then((r) => r.ids),
    ).toEqual([first]);
    h.time += 1;
    const [second] = await h.broker
      .publish([input('t', 'x', { idempotencyKey: 'k' })])
      .then((r) => r.ids);
    expect(second).not.toBe(first);
    expect(h.received).toHaveLength(2);
  });
});

describe('EmbeddedBroker: readAfter verdicts', () => {
  it('reads the events after a retained position, in pages', async () => {
    const { broker } = await harness();
    const ids = await publishMany(broker, 5);
    const page = await broker.readAfter(0, cursorOf(ids[1] ?? ''), 2);
    expect(page).toEqual({
      verdict: 'ok',
      events: [expect.objectContaining({ data: 'e3' }), expect.objectContaining({ data: 'e4' })],
      done: false,
      newest: at(5),
    });
    const rest = await broker.readAfter(0, at(4), 2);
    expect(rest.verdict === 'ok' && rest.done).toBe(true);
    expect(dataOf(rest)).toEqual(['e5']);
  });

  it('says done when a page ends exactly at the newest event', async () => {
    const { broker } = await harness();
    await publishMany(broker, 4);
    const page = await broker.readAfter(0, at(2), 2);
    expect(page.verdict === 'ok' && page.done).toBe(true);
    expect(dataOf(page)).toEqual(['e3', 'e4']);
  });

  it('answers ok with nothing for the newest position, and for position 0 before any event', async () => {
    const empty = await harness();
    expect(await empty.broker.readAfter(0, at(0), 10)).toEqual({
      verdict: 'ok',
      events: [],
      done: true,
      newest: at(0),
    });
    const { broker } = await harness();
    await publishMany(broker, 3);
    expect(await broker.readAfter(0, at(3), 10)).toEqual({
      verdict: 'ok',
      events: [],
      done: true,
      newest: at(3),
    });
  });

  it('reads every retained event for earliest', async () => {
    const { broker } = await harness({ historySize: 3 });
    await publishMany(broker, 5);
    expect(dataOf(await broker.readAfter(0, 'earliest', 10))).toEqual(['e3', 'e4', 'e5']);
    expect(dataOf(await broker.readAfter(0, 'earliest', 2))).toEqual(['e3', 'e4']);
  });

  it('answers trimmed for a position older than the retained history (size)', async () => {
    const { broker } = await harness({ historySize: 3 });
    await publishMany(broker, 6); // keeps 4, 5, 6
    expect(await broker.readAfter(0, at(1), 10)).toEqual({ verdict: 'trimmed' });
    expect(await broker.readAfter(0, at(2), 10)).toEqual({ verdict: 'trimmed' });
    // Position 3 is just before the oldest retained event: nothing is missing.
    expect(dataOf(await broker.readAfter(0, at(3), 10))).toEqual(['e4', 'e5', 'e6']);
    expect(await broker.readAfter(0, at(0), 10)).toEqual({ verdict: 'trimmed' });
  });

  it('answers trimmed for a position whose successors expired (age, injected clock)', async () => {
    const h = await harness({ historyTtlMs: 300 });
    await publishMany(h.broker, 3);
    h.time += 200;
    await h.broker.publish([input('t', 'e4')]).then((r) => r.ids);
    h.time += 150; // e1..e3 are 350 ms old, e4 is 150 ms old
    expect(await h.broker.readAfter(0, at(1), 10)).toEqual({ verdict: 'trimmed' });
    expect(dataOf(await h.broker.readAfter(0, at(3), 10))).toEqual(['e4']);
    expect(await h.broker.historyLength()).toBe(1);
    h.time += 1000; // everything expired
    expect(await h.broker.historyLength()).toBe(0);
    expect(await h.broker.readAfter(0, at(3), 10)).toEqual({ verdict: 'trimmed' });
    expect(await h.broker.readAfter(0, at(4), 10)).toEqual({
      verdict: 'ok',
      events: [],
      done: true,
      newest: at(4),
    });
    expect(await h.broker.readAfter(0, 'earliest', 10)).toEqual({
      verdict: 'ok',
      events: [],
      done: true,
      newest: at(4),
    });
  });

  it('answers unknown for another epoch, a position ahead of the newest, or a malformed position', async () => {
    const { broker } = await harness();
    await publishMany(broker, 3);
    expect(await broker.readAfter(0, at(2, 'zzzz'), 10)).toEqual({ verdict: 'unknown' });
    expect(await broker.readAfter(0, at(4), 10)).toEqual({ verdict: 'unknown' });
    expect(
      await broker.readAfter(0, { epoch: EPOCH, shard: 0, position: { ms: 2, seq: 1 } }, 10),
    ).toEqual({
      verdict: 'unknown',
    });
    expect(await broker.readAfter(0, at(2, EPOCH, 3), 10)).toEqual({ verdict: 'unknown' });
    expect(await broker.readAfter(1, at(2, EPOCH, 1), 10)).toEqual({ verdict: 'unknown' });
  });

  it('round-trips ids through the wire codec', async () => {
    const { broker } = await harness();
    const ids = await publishMany(broker, 3);
    const page = await broker.readAfter(0, cursorOf(ids[0] ?? ''), 10);
    if (page.verdict !== 'ok') throw new Error('expected ok');
    expect(page.events.map((e) => encodeEventId([e.cursor]))).toEqual(ids.slice(1));
  });

  it('with history off (size 0): every resume is trimmed, earliest is empty', async () => {
    const { broker } = await harness({ historySize: 0 });
    expect(await broker.readAfter(0, at(0), 10)).toEqual({ verdict: 'trimmed' });
    await publishMany(broker, 3);
    expect(await broker.historyLength()).toBe(0);
    expect(await broker.readAfter(0, at(3), 10)).toEqual({ verdict: 'trimmed' });
    expect(await broker.readAfter(0, at(1), 10)).toEqual({ verdict: 'trimmed' });
    expect(await broker.readAfter(0, 'earliest', 10)).toEqual({
      verdict: 'ok',
      events: [],
      done: true,
      newest: at(3),
    });
    // Ahead of the newest, or another epoch, is still unknown.
    expect(await broker.readAfter(0, at(9), 10)).toEqual({ verdict: 'unknown' });
    expect(await broker.readAfter(0, at(1, 'zzzz'), 10)).toEqual({ verdict: 'unknown' });
  });

  it('is bounded by HISTORY_SIZE', async () => {
    const { broker } = await harness({ historySize: 10 });
    await publishMany(broker, 25);
    expect(await broker.historyLength()).toBe(10);
    expect(dataOf(await broker.readAfter(0, 'earliest', 100))).toEqual(
      Array.from({ length: 10 }, (_, i) => `e${i + 16}`),
    );
  });
});

describe('EmbeddedBroker: local registry', () => {
  it('lists nothing before the first report, then what was reported', async () => {
    const { broker } = await harness();
    expect(await broker.registry.replicas()).toEqual([]);
    expect(await broker.registry.presence()).toEqual([]);
    const stats = {
      id: 'r1',
      connections: 2,
      subscriptions: 3,
      topics: 1,
      eventsInPerSec: 0,
      eventsOutPerSec: 0,
      startedAt: '2025-01-01T00:00:00.000Z',
    };
    const entries = [{ sub: 'alice', connections: 2, patterns: ['a/**'] }];
    await broker.registry.report(stats, entries);
    expect(await broker.registry.replicas()).toEqual([stats]);
    expect(await broker.registry.presence()).toEqual([{ replica: 'r1', entries }]);
  });
});
