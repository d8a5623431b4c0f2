import { encodeEventId } from '@ssehub/protocol';
import { describe, expect, it } from 'vitest';
import { check } from '../src/checker.js';
import type { Frame, History, PublishRecord, ShardState } from '../src/history.js';

const EPOCH = 'aB3x';
const NEW_EPOCH = 'zZ9q';

/** The id of position `ms`-0 on shard 0 of `epoch`. */
function id(ms: number, epoch = EPOCH): string {
  return encodeEventId([{ epoch, shard: 0, position: { ms, seq: 0 } }]);
}

function accepted(n: number, topic = 't/a', epoch = EPOCH): PublishRecord {
  return {
    key: `p:${n}`,
    topic,
    publisher: 'p',
    firstAttemptAt: n * 10,
    status: 'accepted',
    id: id(1000 + n, epoch),
    ids: [id(1000 + n, epoch)],
    acceptedAt: n * 10 + 1,
    attempts: 1,
  };
}

function event(n: number, conn = 1, topic = 't/a', epoch = EPOCH): Frame {
  return { kind: 'event', t: n * 10 + 5, conn, id: id(1000 + n, epoch), topic, key: `p:${n}` };
}

function opening(ms: number, conn = 1, epoch = EPOCH): Frame[] {
  return [
    { kind: 'open', t: 0, conn, gateway: 0 },
    { kind: 'id', t: 0, conn, id: id(ms, epoch) },
  ];
}

function held(publishes: readonly PublishRecord[], epoch = EPOCH): ShardState[] {
  return [
    {
      shard: 0,
      epoch,
      pastEpochs: [],
      lastGeneratedId: '0-0',
      entries: publishes
        .filter((p) => p.status === 'accepted')
        .map((p) => ({ streamId: `${1000 + Number(p.key.slice(2))}-0`, data: p.key })),
    },
  ];
}

function history(
  publishes: PublishRecord[],
  frames: Frame[],
  patterns: string[] = ['t/**'],
  heldShards: ShardState[] = held(publishes),
): History {
  return {
    seed: 1,
    topology: 'standalone',
    shards: 1,
    startedAt: 0,
    publishes,
    subscribers: [{ name: 's', patterns, frames }],
    faults: [],
    crashes: [],
    held: heldShards,
  };
}

const five = [1, 2, 3, 4, 5].map((n) => accepted(n));

describe('check', () => {
  it('passes a history where every event arrived once, in order', () => {
    const v = check(history(five, [...opening(1000), ...[1, 2, 3, 4, 5].map((n) => event(n))]));
    expect(v.ok).toBe(true);
    expect(v.totals).toMatchObject({ expected: 5, delivered: 5, lost: 0, gaps: 0 });
  });

  it('counts only events after the starting position', () => {
    const v = check(history(five, [...opening(1002), event(3), event(4), event(5)]));
    expect(v.ok).toBe(true);
    expect(v.totals.expected).toBe(3);
  });

  it('reports a lost event in the middle as lost and as an unsignalled gap', () => {
    const v = check(history(five, [...opening(1000), event(1), event(2), event(4), event(5)]));
    expect(v.ok).toBe(false);
    expect(v.totals.lost).toBe(1);
    expect(v.totals.gaps).toBe(1);
    expect(v.subscribers[0]?.lost[0]).toMatchObject({ key: 'p:3', skipped: true });
  });

  it('reports a stalled tail as lost but not as a gap', () => {
    const v = check(history(five, [...opening(1000), event(1), event(2), event(3)]));
    expect(v.totals.lost).toBe(2);
    expect(v.totals.gaps).toBe(0);
    expect(v.subscribers[0]?.lost.every((l) => !l.skipped)).toBe(true);
  });

  it('counts a gap that a heartbeat id moved past, even with nothing delivered after it', () => {
    const frames: Frame[] = [
      ...opening(1000),
      event(1),
      event(2),
      { kind: 'id', t: 100, conn: 1, id: id(1005) },
    ];
    const v = check(history(five, frames));
    expect(v.totals.lost).toBe(3);
    expect(v.totals.gaps).toBe(1);
  });

  it('excuses the events a reset announced, and only those', () => {
    const frames: Frame[] = [
      ...opening(1000),
      event(1),
      { kind: 'close', t: 20, conn: 1, reason: 'end' },
      { kind: 'open', t: 40, conn: 2, gateway: 1 },
      { kind: 'reset', t: 40, conn: 2, id: id(1003), reason: 'history_trimmed' },
      event(5, 2),
    ];
    const v = check(history(five, frames));
    // 2 and 3 are excused (after 1, up to the reset's 1003); 4 is after the reset: lost.
    expect(v.totals.excused).toBe(2);
    expect(v.totals.lost).toBe(1);
    expect(v.subscribers[0]?.lost[0]?.key).toBe('p:4');
    expect(v.totals.gaps).toBe(1);
  });

  it('starts a reset gap at the cursor the client sent, not at the opening id of the same response', () => {
    // The gateway's reset answer opens with `id: <head>` and then the reset event with the same
    // id: the gap is from what the client held when it connected (after 1) to that head.
    const frames: Frame[] = [
      ...opening(1000),
      event(1),
      { kind: 'close', t: 20, conn: 1, reason: 'end' },
      { kind: 'open', t: 40, conn: 2, gateway: 1 },
      { kind: 'id', t: 40, conn: 2, id: id(1003) },
      { kind: 'reset', t: 40, conn: 2, id: id(1003), reason: 'history_trimmed' },
      event(4, 2),
      event(5, 2),
    ];
    const v = check(history(five, frames));
    expect(v.totals).toMatchObject({ excused: 2, lost: 0, gaps: 0 });
  });

  it('still reports what a client moved past before the connection that got the reset', () => {
    const frames: Frame[] = [
      ...opening(1000),
      event(1),
      event(3), // 2 skipped silently on the first connection
      { kind: 'close', t: 40, conn: 1, reason: 'end' },
      { kind: 'open', t: 45, conn: 2, gateway: 1 },
      { kind: 'id', t: 45, conn: 2, id: id(1004) },
      { kind: 'reset', t: 45, conn: 2, id: id(1004), reason: 'history_trimmed' },
      event(5, 2),
    ];
    const v = check(history(five, frames));
    expect(v.subscribers[0]?.lost.map((l) => l.key)).toEqual(['p:2']);
    expect(v.totals.excused).toBe(1);
    expect(v.totals.gaps).toBe(1);
  });

  it('excuses across an epoch change (history_lost)', () => {
    const after = [6, 7].map((n) => accepted(n, 't/a', NEW_EPOCH));
    const publishes = [...five, ...after];
    const heldShards: ShardState[] = [
      {
        shard: 0,
        epoch: NEW_EPOCH,
        pastEpochs: [EPOCH],
        lastGeneratedId: '0-0',
        entries: publishes.map((p) => ({
          streamId: `${1000 + Number(p.key.slice(2))}-0`,
          data: p.key,
        })),
      },
    ];
    const frames: Frame[] = [
      ...opening(1000),
      event(1),
      event(2),
      { kind: 'reset', t: 55, conn: 2, id: id(1006, NEW_EPOCH), reason: 'history_lost' },
      event(7, 2, 't/a', NEW_EPOCH),
    ];
    const v = check(history(publishes, frames, ['t/**'], heldShards));
    // 3, 4, 5 (old epoch, after 2) and 6 (new epoch, up to the reset) are excused.
    expect(v.totals.excused).toBe(4);
    expect(v.totals.lost).toBe(0);
    expect(v.ok).toBe(true);
  });

  it('excuses events of an epoch the client never saw when a reset moves it past them', () => {
    // Failovers flipped the shard through a third epoch while the client was away.
    const middle = [6, 7].map((n) => accepted(n, 't/a', 'mIdL'));
    const after = [8].map((n) => accepted(n, 't/a', NEW_EPOCH));
    const publishes = [...five, ...middle, ...after];
    const heldShards: ShardState[] = [
      {
        shard: 0,
        epoch: NEW_EPOCH,
        pastEpochs: [],
        lastGeneratedId: '0-0',
        entries: publishes.map((p) => ({
          streamId: `${1000 + Number(p.key.slice(2))}-0`,
          data: p.key,
        })),
      },
    ];
    const frames: Frame[] = [
      ...opening(1000),
      ...[1, 2, 3, 4, 5].map((n) => event(n)),
      { kind: 'close', t: 60, conn: 1, reason: 'end' },
      { kind: 'open', t: 90, conn: 2, gateway: 0 },
      { kind: 'id', t: 90, conn: 2, id: id(1007, NEW_EPOCH) },
      { kind: 'reset', t: 90, conn: 2, id: id(1007, NEW_EPOCH), reason: 'unknown_id' },
      event(8, 2, 't/a', NEW_EPOCH),
    ];
    const v = check(history(publishes, frames, ['t/**'], heldShards));
    expect(v.totals).toMatchObject({ excused: 2, lost: 0, gaps: 0 });
  });

  it('reports an event delivered twice as repeated (not as out of order)', () => {
    const frames = [...opening(1000), ...[1, 2, 3, 4, 5].map((n) => event(n)), event(3, 2)];
    const v = check(history(five, frames));
    expect(v.totals.repeated).toBe(1);
    expect(v.totals.outOfOrder).toBe(0);
    expect(v.subscribers[0]?.repeated[0]).toMatchObject({ key: 'p:3', times: 2 });
    expect(v.ok).toBe(false);
  });

  it('reports a per-shard position that went backwards as out of order', () => {
    const frames = [...opening(1000), event(1), event(3), event(2), event(4), event(5)];
    const v = check(history(five, frames));
    expect(v.totals.outOfOrder).toBe(1);
    expect(v.totals.lost).toBe(0);
    expect(v.subscribers[0]?.outOfOrder[0]?.key).toBe('p:2');
  });

  it('reports events never published, garbled, or not matching as phantom', () => {
    const frames: Frame[] = [
      ...opening(1000),
      ...[1, 2, 3, 4, 5].map((n) => event(n)),
      { kind: 'event', t: 90, conn: 1, id: id(2000), topic: 't/a', key: 'junk' },
      { kind: 'garbled', t: 91, conn: 1, id: id(2001), data: 'phantom' },
    ];
    const wrong = accepted(6, 'u/x');
    const v = check(
      history(
        [...five, wrong],
        [...frames, { kind: 'event', t: 92, conn: 1, id: id(1006), topic: 'u/x', key: 'p:6' }],
      ),
    );
    expect(v.subscribers[0]?.phantom.map((p) => p.why).sort()).toEqual([
      'garbled',
      'never-published',
      'not-matching',
    ]);
    expect(v.ok).toBe(false);
  });

  it('reports a delivery with another id than the publish returned', () => {
    const frames: Frame[] = [
      ...opening(1000),
      ...[1, 2, 3, 4].map((n) => event(n)),
      { kind: 'event', t: 60, conn: 1, id: id(1009), topic: 't/a', key: 'p:5' },
    ];
    const v = check(history(five, frames));
    expect(v.subscribers[0]?.phantom[0]?.why).toBe('wrong-id');
  });

  it('accepts another id for a publish that took several attempts (an earlier one may have been stored)', () => {
    const retried = five.map((p) => (p.key === 'p:5' ? { ...p, attempts: 2 } : p));
    const frames: Frame[] = [
      ...opening(1000),
      ...[1, 2, 3, 4].map((n) => event(n)),
      { kind: 'event', t: 60, conn: 1, id: id(1009), topic: 't/a', key: 'p:5' },
    ];
    const v = check(history(retried, frames));
    expect(v.subscribers[0]?.phantom).toEqual([]);
  });

  it('lets an unknown-outcome publish appear once or not at all, but not twice', () => {
    const unknown: PublishRecord = {
      key: 'p:9',
      topic: 't/a',
      publisher: 'p',
      firstAttemptAt: 80,
      status: 'unknown',
      ids: [],
      attempts: 3,
    };
    const base = [...opening(1000), ...[1, 2, 3, 4, 5].map((n) => event(n))];
    const once: Frame = { kind: 'event', t: 95, conn: 1, id: id(1009), topic: 't/a', key: 'p:9' };
    expect(check(history([...five, unknown], base)).ok).toBe(true);
    expect(check(history([...five, unknown], [...base, once])).ok).toBe(true);
    const twice = check(history([...five, unknown], [...base, once, { ...once, conn: 2 }]));
    expect(twice.totals.repeated).toBe(1);
  });

  it('does not expect events Redis no longer holds', () => {
    const v = check(
      history(five, [...opening(1000), event(1), event(2)], ['t/**'], held(five.slice(0, 2))),
    );
    expect(v.notHeld).toBe(3);
    expect(v.ok).toBe(true);
  });

  it('expects only the events matching the patterns', () => {
    const mixed = [accepted(1, 't/a'), accepted(2, 'u/x'), accepted(3, 't/b/c')];
    const v = check(history(mixed, [...opening(1000), event(1)], ['t/*']));
    expect(v.totals.expected).toBe(1);
    expect(v.ok).toBe(true);
  });

  it('reports a fatal answer', () => {
    const frames: Frame[] = [
      ...opening(1000),
      ...[1, 2, 3, 4, 5].map((n) => event(n)),
      { kind: 'fatal', t: 99, conn: 2, status: 503, body: '{"error":{}}' },
    ];
    const v = check(history(five, frames));
    expect(v.totals.fatal).toBe(1);
    expect(v.ok).toBe(false);
  });

  it('reports a key stored twice and gateway crashes', () => {
    const twice = { ...accepted(1), ids: [id(1001), id(1007)] };
    const h = history([twice], [...opening(1000), event(1)]);
    expect(check(h).storedTwice).toEqual(['p:1']);
    const crashed = {
      ...history(five, [...opening(1000), ...[1, 2, 3, 4, 5].map((n) => event(n))]),
    };
    const withCrash: History = {
      ...crashed,
      crashes: [{ kind: 'gateway-crash', target: 'gateway0', at: 5, detail: 'exit code 1' }],
    };
    expect(check(withCrash).ok).toBe(false);
  });

  it('checks each shard on its own with multi-shard cursors', () => {
    // Two shards: t is shard 0 and u is shard 1 with 3 shards (shardOf hashes the first segment).
    const cursor = (s0: number, s1: number): string =>
      encodeEventId([
        { epoch: EPOCH, shard: 0, position: { ms: s0, seq: 0 } },
        { epoch: EPOCH, shard: 1, position: { ms: s1, seq: 0 } },
      ]);
    const pub = (n: number, topic: string, shard: number): PublishRecord => ({
      key: `p:${n}`,
      topic,
      publisher: 'p',
      firstAttemptAt: n,
      status: 'accepted',
      id: encodeEventId([{ epoch: EPOCH, shard, position: { ms: 1000 + n, seq: 0 } }]),
      ids: [],
      acceptedAt: n,
      attempts: 1,
    });
    const publishes = [pub(1, 't/a', 0), pub(2, 'u/x', 1), pub(3, 't/a', 0)];
    const h: History = {
      seed: 1,
      topology: 'cluster',
      shards: 3,
      startedAt: 0,
      publishes,
      subscribers: [
        {
          name: 's',
          patterns: ['t/*', 'u/**'],
          frames: [
            { kind: 'open', t: 0, conn: 1, gateway: 0 },
            { kind: 'id', t: 0, conn: 1, id: cursor(1000, 1000) },
            { kind: 'event', t: 1, conn: 1, id: cursor(1001, 1000), topic: 't/a', key: 'p:1' },
            { kind: 'event', t: 3, conn: 1, id: cursor(1003, 1000), topic: 't/a', key: 'p:3' },
            { kind: 'event', t: 4, conn: 1, id: cursor(1003, 1002), topic: 'u/x', key: 'p:2' },
          ],
        },
      ],
      faults: [],
      crashes: [],
      held: [0, 1, 2].map((shard) => ({
        shard,
        epoch: EPOCH,
        pastEpochs: [],
        lastGeneratedId: '0-0',
        entries: publishes
          .filter((p) => (p.topic.startsWith('t') ? 0 : 1) === shard)
          .map((p) => ({ streamId: `${1000 + Number(p.key.slice(2))}-0`, data: p.key })),
      })),
    };
    const v = check(h);
    expect(v.totals.expected).toBe(3);
    expect(v.totals.outOfOrder).toBe(0);
    expect(v.ok).toBe(true);
  });
});
