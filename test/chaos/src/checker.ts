/**
 * The checker: a pure function over a recorded {@link History} that says whether the delivery
 * promise (docs/reliability.md) held. For each subscriber, the expected events are the accepted
 * events that match its patterns, that Redis still held at the end, and whose position is after
 * the subscriber's starting position (the `id:` of its first opening block). Each must arrive
 * once, in order per shard, unless an `ssehub.reset` announced the gap it falls in: a reset
 * excuses the events after the last event id the client held before it, up to the reset's id.
 */
import { decodeEventId, matches, parsePattern, shardOf, type Cursor } from '@ssehub/protocol';
import type { Pattern } from '@ssehub/protocol';
import type { Frame, History, PublishRecord, SubscriberRecord } from './history.js';
import type {
  FatalAnswer,
  LostEvent,
  OutOfOrderEvent,
  PhantomEvent,
  RepeatedEvent,
  SubscriberVerdict,
  Verdict,
} from './verdict.js';

/** A shard position within an epoch. */
interface Position {
  readonly epoch: string;
  readonly ms: number;
  readonly seq: number;
}

function compare(a: Position, b: Position): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

function toPosition(c: Cursor): Position {
  return { epoch: c.epoch, ms: c.position.ms, seq: c.position.seq };
}

/** The cursors of an id by shard; empty when the id does not decode. */
function cursorsOf(id: string): Map<number, Position> {
  const out = new Map<number, Position>();
  try {
    for (const c of decodeEventId(id)) out.set(c.shard, toPosition(c));
  } catch {
    // Not an ssehub id: nothing to learn from it.
  }
  return out;
}

/** An accepted event as the checker sees it. */
interface Accepted {
  readonly record: PublishRecord;
  readonly id: string;
  readonly shard: number;
  readonly position: Position;
}

/** The window of positions on one shard that a reset announced as skipped. */
interface Excusal {
  readonly shard: number;
  readonly from: Position | undefined;
  readonly to: Position | undefined;
}

function excuses(w: Excusal, p: Position): boolean {
  const { from, to } = w;
  if (from !== undefined && to !== undefined && from.epoch === to.epoch) {
    return p.epoch === from.epoch && compare(p, from) > 0 && compare(p, to) <= 0;
  }
  // The epoch changed (history lost): everything after the old position in the old epoch, and
  // everything the new position is past. Epochs label one shard's stream, whose positions keep
  // growing across them (a retired epoch's entries stay in the stream under the new label; a
  // failover that flips between datasets more than once passes through epochs the client never
  // saw), so "up to the new position" is by stream position in whatever epoch, except what the
  // client already held in its own epoch.
  if (from !== undefined && p.epoch === from.epoch) return compare(p, from) > 0;
  return to !== undefined && compare(p, to) <= 0;
}

function shardOfTopic(topic: string, shards: number): number | undefined {
  try {
    return shardOf(topic, shards);
  } catch {
    return undefined;
  }
}

function matchesAny(patterns: readonly Pattern[], topic: string): boolean {
  try {
    return patterns.some((p) => matches(p, topic));
  } catch {
    return false;
  }
}

/** Which accepted events the subscriber must get: held, matching, after its start. */
function expectedFor(
  accepted: readonly Accepted[],
  patterns: readonly Pattern[],
  start: Map<number, Position>,
  startedAt: number,
): Accepted[] {
  return accepted.filter((e) => {
    if (!matchesAny(patterns, e.record.topic)) return false;
    const s = start.get(e.shard);
    if (s !== undefined && s.epoch === e.position.epoch) return compare(e.position, s) > 0;
    // Another epoch than the start's, or a shard the start id did not name: only events whose
    // publish began after the subscriber had started are surely after it.
    return e.record.firstAttemptAt > startedAt;
  });
}

function checkSubscriber(
  sub: SubscriberRecord,
  accepted: readonly Accepted[],
  byKey: ReadonlyMap<string, PublishRecord>,
  shards: number,
): SubscriberVerdict {
  const patterns = sub.patterns.map((p) => parsePattern(p));
  const frames: readonly Frame[] = sub.frames;
  const firstWithId = frames.find(
    (f) => f.kind === 'id' || f.kind === 'event' || f.kind === 'reset',
  );
  const connections = new Set(frames.filter((f) => f.kind === 'open').map((f) => f.conn)).size;
  const fatal: FatalAnswer[] = frames.flatMap((f) =>
    f.kind === 'fatal' ? [{ subscriber: sub.name, status: f.status, body: f.body, at: f.t }] : [],
  );
  if (firstWithId === undefined) {
    return {
      name: sub.name,
      patterns: sub.patterns,
      connections,
      expected: 0,
      delivered: 0,
      excused: 0,
      resets: 0,
      lost: [],
      gaps: 0,
      repeated: [],
      outOfOrder: [],
      phantom: [],
      fatal,
      neverStarted: true,
    };
  }
  // The starting position: the first id the subscriber held. For an event frame (no opening
  // id, e.g. `earliest`) the start is just before that event, so the event itself is expected.
  const start = new Map<number, Position>();
  if (firstWithId.kind === 'id' || firstWithId.kind === 'reset') {
    for (const [shard, p] of cursorsOf(firstWithId.id)) start.set(shard, p);
  }
  const expected = expectedFor(accepted, patterns, start, firstWithId.t);

  // Walk the frames as the browser did.
  const lastEventId = new Map<number, Position>();
  const lastDelivered = new Map<string, { position: Position; id: string }>();
  const deliveries = new Map<string, number[]>();
  const excusals: Excusal[] = [];
  /** Per connection, the client's cursor when it opened (what it sent as Last-Event-ID). */
  const cursorAtOpen = new Map<number, Map<number, Position>>();
  const outOfOrder: OutOfOrderEvent[] = [];
  const phantom: PhantomEvent[] = [];
  let delivered = 0;
  let resets = 0;
  // The furthest position the subscriber's cursor reached, per shard and epoch: an event at or
  // below it that never arrived was skipped over (a silent gap), not merely not reached yet.
  const furthest = new Map<string, Position>();
  const setLastEventId = (id: string): void => {
    for (const [shard, p] of cursorsOf(id)) {
      lastEventId.set(shard, p);
      const slot = `${shard}/${p.epoch}`;
      const before = furthest.get(slot);
      if (before === undefined || compare(p, before) > 0) furthest.set(slot, p);
    }
  };
  for (const f of frames) {
    switch (f.kind) {
      case 'id':
        setLastEventId(f.id);
        break;
      case 'reset': {
        resets += 1;
        // The gap starts at the cursor the client sent (Last-Event-ID when this connection
        // opened), not at the opening `id:` of the same response, which already is the new head.
        const from = cursorAtOpen.get(f.conn) ?? lastEventId;
        const to = cursorsOf(f.id);
        const touched = new Set([...to.keys(), ...from.keys()]);
        for (const shard of touched) {
          excusals.push({ shard, from: from.get(shard), to: to.get(shard) });
        }
        setLastEventId(f.id);
        break;
      }
      case 'garbled':
        phantom.push({
          subscriber: sub.name,
          why: 'garbled',
          detail: `id ${f.id} name ${f.name ?? '-'} data ${JSON.stringify(f.data.slice(0, 80))}`,
          at: f.t,
        });
        setLastEventId(f.id);
        break;
      case 'event': {
        delivered += 1;
        const record = byKey.get(f.key);
        const times = deliveries.get(f.key) ?? [];
        times.push(f.t);
        deliveries.set(f.key, times);
        if (record === undefined) {
          phantom.push({
            subscriber: sub.name,
            why: 'never-published',
            detail: `key ${f.key} on ${f.topic} id ${f.id}`,
            at: f.t,
          });
        } else if (record.status === 'rejected') {
          phantom.push({
            subscriber: sub.name,
            why: 'rejected-publish',
            detail: `key ${f.key} was refused with ${record.lastError ?? '?'}`,
            at: f.t,
          });
        } else if (!matchesAny(patterns, f.topic) || record.topic !== f.topic) {
          phantom.push({
            subscriber: sub.name,
            why: 'not-matching',
            detail: `key ${f.key} on ${f.topic} (published on ${record.topic})`,
            at: f.t,
          });
        }
        const shard = shardOfTopic(f.topic, shards);
        const position = shard === undefined ? undefined : cursorsOf(f.id).get(shard);
        // A publish that took several attempts may have been stored by an earlier one whose
        // answer was lost (the idempotency key lives in the dataset a failover can discard), so
        // its event can arrive under that attempt's id: only a first-attempt publish has one id.
        if (record?.id !== undefined && shard !== undefined && record.attempts === 1) {
          const published = cursorsOf(record.id).get(shard);
          if (
            published !== undefined &&
            position !== undefined &&
            (published.epoch !== position.epoch || compare(published, position) !== 0)
          ) {
            phantom.push({
              subscriber: sub.name,
              why: 'wrong-id',
              detail: `key ${f.key} published as ${record.id}, delivered with ${f.id}`,
              at: f.t,
            });
          }
        }
        if (shard !== undefined && position !== undefined && times.length === 1) {
          const slot = `${shard}/${position.epoch}`;
          const previous = lastDelivered.get(slot);
          if (previous !== undefined && compare(position, previous.position) <= 0) {
            outOfOrder.push({
              subscriber: sub.name,
              key: f.key,
              id: f.id,
              previousId: previous.id,
              at: f.t,
            });
          } else {
            lastDelivered.set(slot, { position, id: f.id });
          }
        }
        setLastEventId(f.id);
        break;
      }
      case 'open':
        cursorAtOpen.set(f.conn, new Map(lastEventId));
        break;
      case 'not-ready':
      case 'close':
      case 'fatal':
        break;
    }
  }

  const repeated: RepeatedEvent[] = [];
  for (const [key, at] of deliveries) {
    if (at.length > 1) repeated.push({ subscriber: sub.name, key, times: at.length, at });
  }

  // Lost events, and the runs of them the subscriber moved past (silent gaps).
  const lost: LostEvent[] = [];
  let excused = 0;
  let gaps = 0;
  const byShard = new Map<string, Accepted[]>();
  for (const e of expected) {
    const slot = `${e.shard}/${e.position.epoch}`;
    const list = byShard.get(slot) ?? [];
    list.push(e);
    byShard.set(slot, list);
  }
  for (const list of byShard.values()) {
    list.sort((a, b) => compare(a.position, b.position));
    let run = 0;
    for (const e of list) {
      if (deliveries.has(e.record.key)) {
        if (run > 0) gaps += 1;
        run = 0;
        continue;
      }
      if (excusals.some((w) => w.shard === e.shard && excuses(w, e.position))) {
        excused += 1;
        if (run > 0) gaps += 1;
        run = 0;
        continue;
      }
      const reached = furthest.get(`${e.shard}/${e.position.epoch}`);
      const skipped = reached !== undefined && compare(reached, e.position) >= 0;
      lost.push({
        subscriber: sub.name,
        key: e.record.key,
        topic: e.record.topic,
        id: e.id,
        acceptedAt: e.record.acceptedAt,
        skipped,
      });
      run += 1;
    }
    // A run at the end counts as a gap when the subscriber's cursor is past it.
    const last = list[list.length - 1];
    if (run > 0 && last !== undefined) {
      const reached = furthest.get(`${last.shard}/${last.position.epoch}`);
      if (reached !== undefined && compare(reached, last.position) >= 0) gaps += 1;
    }
  }
  // Fatal subscribers stopped listening: what they missed after giving up is reported as the
  // fatal answer, not as losses.
  const fatalAt = fatal[0]?.at;
  const counted =
    fatalAt === undefined
      ? lost
      : lost.filter((l) => l.acceptedAt !== undefined && l.acceptedAt < fatalAt);
  return {
    name: sub.name,
    patterns: sub.patterns,
    connections,
    expected: expected.length,
    delivered,
    excused,
    resets,
    lost: counted,
    gaps,
    repeated,
    outOfOrder,
    phantom,
    fatal,
    neverStarted: false,
  };
}

/**
 * Checks a whole history.
 *
 * @returns The verdict; `ok` is false on any lost, repeated, out-of-order or phantom delivery,
 *   any unsignalled gap, any fatal answer, or any key stored twice.
 */
export function check(history: History): Verdict {
  const byKey = new Map<string, PublishRecord>();
  for (const p of history.publishes) byKey.set(p.key, p);
  const held = new Map<number, Map<string, string>>();
  for (const s of history.held) {
    held.set(s.shard, new Map(s.entries.map((e) => [e.streamId, e.data])));
  }
  const accepted: Accepted[] = [];
  let notHeld = 0;
  for (const record of history.publishes) {
    if (record.status !== 'accepted' || record.id === undefined) continue;
    const shard = shardOfTopic(record.topic, history.shards);
    const cursor = shard === undefined ? undefined : cursorsOf(record.id).get(shard);
    if (shard === undefined || cursor === undefined) continue;
    const streamId = `${cursor.ms}-${cursor.seq}`;
    if (held.get(shard)?.get(streamId) !== record.key) {
      notHeld += 1;
      continue;
    }
    accepted.push({ record, id: record.id, shard, position: cursor });
  }
  const storedTwice = history.publishes.filter((p) => p.ids.length > 1).map((p) => p.key);
  const subscribers = history.subscribers.map((s) =>
    checkSubscriber(s, accepted, byKey, history.shards),
  );
  const sum = (f: (v: SubscriberVerdict) => number): number =>
    subscribers.reduce((n, v) => n + f(v), 0);
  const totals = {
    expected: sum((v) => v.expected),
    delivered: sum((v) => v.delivered),
    excused: sum((v) => v.excused),
    resets: sum((v) => v.resets),
    lost: sum((v) => v.lost.length),
    gaps: sum((v) => v.gaps),
    repeated: sum((v) => v.repeated.length),
    outOfOrder: sum((v) => v.outOfOrder.length),
    phantom: sum((v) => v.phantom.length),
    fatal: sum((v) => v.fatal.length),
  };
  const ok =
    totals.lost === 0 &&
    totals.gaps === 0 &&
    totals.repeated === 0 &&
    totals.outOfOrder === 0 &&
    totals.phantom === 0 &&
    totals.fatal === 0 &&
    storedTwice.length === 0 &&
    history.crashes.length === 0;
  return {
    ok,
    accepted: history.publishes.filter((p) => p.status === 'accepted').length,
    unknown: history.publishes.filter((p) => p.status === 'unknown').length,
    rejected: history.publishes.filter((p) => p.status === 'rejected').length,
    notHeld,
    storedTwice,
    crashes: history.crashes.length,
    totals,
    subscribers,
  };
}
