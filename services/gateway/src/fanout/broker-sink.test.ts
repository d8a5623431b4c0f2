import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../broker/broker.js';
import type { CloseReason } from '../sse/close-reason.js';
import { createBrokerSink } from './broker-sink.js';

describe('createBrokerSink', () => {
  const make = () => {
    const events: BrokerEvent[] = [];
    const closed: [number, CloseReason][] = [];
    const sink = createBrokerSink({
      broker: { kind: 'redis' },
      dispatcher: { onEvent: (event) => events.push(event) },
      registry: { closeShard: (shard, reason) => closed.push([shard, reason]) },
      log: pino({ level: 'silent' }),
    });
    return { sink, events, closed };
  };

  it('hands every event to the dispatcher, in the order the broker gave them', () => {
    const { sink, events } = make();
    const a = eventAt(0, 1);
    const b = eventAt(1, 2);
    sink.onEvent(a);
    sink.onEvent(b);
    expect(events).toEqual([a, b]);
  });

  it("closes a shard's streams with broker_gap on a gap, and only that shard's", () => {
    const { sink, closed } = make();
    sink.onGap(3);
    expect(closed).toEqual([[3, 'broker_gap']]);
  });

  it('closes nothing when the broker goes down or comes back', () => {
    const { sink, closed, events } = make();
    sink.onDown();
    sink.onUp();
    expect(closed).toEqual([]);
    expect(events).toEqual([]);
  });
});

function eventAt(shard: number, ms: number): BrokerEvent {
  return {
    topic: 't/a',
    event: undefined,
    data: String(ms),
    publishedAt: ms,
    cursor: { epoch: 'AAAA', shard, position: { ms, seq: 0 } },
  };
}
