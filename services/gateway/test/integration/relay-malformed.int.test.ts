/**
 * Malformed message on an ssehub channel (#10, SPEC 9 and 10). Anyone who can reach Redis can
 * publish on ssehub's channels; each of these messages once made every gateway subscribed to the
 * channel exit with a ProtocolError thrown from the message handler. Now each is skipped and
 * counted in `ssehub_relay_messages_skipped_total{reason}`, and the relay keeps delivering.
 */
import { randomUUID } from 'node:crypto';
import type { RelaySkipReason } from '@ssehub/protocol';
import { exactChannel, parsePattern, subtreeChannel } from '@ssehub/protocol';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { RedisBroker } from '../../src/broker/redis/redis-broker.js';
import type { BrokerEvent } from '../../src/index.js';
import { startGateway } from '../helpers/gateway-fixture.js';
import { request } from '../helpers/http-client.js';
import { scrape } from '../helpers/metrics.js';
import { subscribe } from '../helpers/sse-client.js';
import { eventually } from '../helpers/timing.js';

const SKIPPED = 'ssehub_relay_messages_skipped_total';

/** One message per reason, on the topic `a` (the last ones as in the issue report). */
const MALFORMED: readonly (readonly [RelaySkipReason, string])[] = [
  ['format', 'hello'],
  ['version', '2\nAbCd\n1-1\na\n\nx'],
  ['epoch', '1\nXX\n1-1\na\n\nx'],
  ['stream_id', '1\nAbCd\n18446744073709551615-1\na\n\nx'],
  ['stream_id', '1\nAbCd\n3521614606208-0\na\n\nx'],
  ['topic', '1\nAbCd\n1-1\nbad topic\n\nx'],
  ['topic', '1\nAbCd\n1-1\n/a\n\nx'],
  ['event_name', '1\nAbCd\n1-1\na\nev\rdata: injected\nx'],
  ['event_name', '1\nAbCd\n1-1\na\nssehub.reset\nx'],
];

describe("one malformed message on an ssehub channel (the issue's payload, a 20-digit id, or `\\r` in the event name) (#10)", () => {
  it('skips and counts each by reason, keeps running and keeps delivering', async () => {
    const redisPrefix = `t${randomUUID().replaceAll('-', '')}`;
    await using gw = await startGateway({ brokerKind: 'redis', redisPrefix });
    const admin = new Redis(inject('redisUrl'));
    try {
      // Every reason is exposed from the start, at 0.
      const before = await scrape(gw.adminUrl);
      for (const reason of ['format', 'version', 'epoch', 'stream_id', 'topic', 'event_name']) {
        expect(before.find(SKIPPED, { reason })).toBe(0);
      }
      expect(before.find(SKIPPED, { reason: 'dispatch' })).toBe(0);

      const stream = await subscribe(`${gw.publicUrl}/subscribe?topic=a/**`);
      const keys = { prefix: redisPrefix, shardCount: 1 };
      // The subtree channel of `a` (what the issue used) and the exact one.
      for (const [, junk] of MALFORMED) {
        expect(await admin.publish(subtreeChannel(keys, 'a'), junk)).toBe(1);
      }
      expect(await admin.publish(exactChannel(keys, 'a'), 'hello')).toBe(0); // not subscribed
      const expected = new Map<RelaySkipReason, number>();
      for (const [reason] of MALFORMED) expected.set(reason, (expected.get(reason) ?? 0) + 1);
      const counted = await eventually(
        () => scrape(gw.adminUrl),
        (s) => s.value(SKIPPED) === MALFORMED.length,
        { what: `${MALFORMED.length} skipped messages counted` },
      );
      for (const [reason, n] of expected) expect(counted.find(SKIPPED, { reason })).toBe(n);
      expect(counted.find(SKIPPED, { reason: 'dispatch' })).toBe(0);

      // Still running: the admin port answers, and a following valid event is delivered alone.
      expect((await request(`${gw.adminUrl}/healthz`)).status).toBe(200);
      const id = await gw.publish('a', 'real', 'ok');
      await stream.waitForEvents(1);
      expect(stream.events).toEqual([{ id, event: 'ok', data: 'real' }]);
      stream.close();
    } finally {
      admin.disconnect();
    }
  });

  it('catches an event whose dispatch throws, counts it as dispatch, and delivers the next', async () => {
    const broker = new RedisBroker({
      topology: { kind: 'standalone', url: inject('redisUrl') },
      prefix: `t${randomUUID().replaceAll('-', '')}`,
      shards: 1,
      maxEventBytes: 65_536,
      historySize: 100,
      historyTtlMs: 3_600_000,
      idempotencyTtlMs: 300_000,
      log: pino({ level: 'silent' }),
    });
    const received: BrokerEvent[] = [];
    await broker.start({
      onEvent: (event) => {
        if (event.data === 'poison') throw new Error('dispatch failed');
        received.push(event);
      },
      onUp: () => undefined,
      onDown: () => undefined,
      onGap: () => undefined,
    });
    try {
      const interest = await broker.acquire([parsePattern('a')]);
      await broker.publish([
        { topic: 'a', event: undefined, data: 'poison', idempotencyKey: undefined },
      ]);
      await broker.publish([
        { topic: 'a', event: undefined, data: 'fine', idempotencyKey: undefined },
      ]);
      await eventually(
        () => Promise.resolve(received.length),
        (n) => n === 1,
        { what: 'the event after the failing one' },
      );
      expect(received[0]?.data).toBe('fine');
      expect(broker.counters().skippedMessages).toEqual({ dispatch: 1 });
      interest.release();
    } finally {
      await broker.close();
    }
  });
});
