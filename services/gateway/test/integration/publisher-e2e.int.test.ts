/**
 * End to end with the publisher SDK (SPEC 8): events published with `@ssehub/publisher` straight
 * to Redis reach a real gateway's SSE subscribers, with the same ids, in order, once per
 * idempotency key, replayable after `Last-Event-ID`, and sharing idempotency with the gateway's
 * own publish route.
 */
import { randomUUID } from 'node:crypto';
import { createHttpPublisher, createPublisher, type Publisher } from '@ssehub/publisher';
import { describe, expect, inject, it } from 'vitest';
import { startGateway, type GatewayFixture } from '../helpers/gateway-fixture.js';
import { subscribe } from '../helpers/sse-client.js';

/** A gateway on the shared Redis and a publisher of the same deployment (same prefix). */
async function deployment(): Promise<{
  gw: GatewayFixture;
  publisher: Publisher;
  [Symbol.asyncDispose]: () => Promise<void>;
}> {
  const redisPrefix = `pe2e${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const gw = await startGateway({ brokerKind: 'redis', redisPrefix });
  const publisher = createPublisher({ redis: inject('redisUrl'), prefix: redisPrefix });
  return {
    gw,
    publisher,
    async [Symbol.asyncDispose]() {
      await publisher.close();
      await gw.close();
    },
  };
}

/** POST /publish/<topic> on the admin port with an Idempotency-Key; resolves to the id. */
async function adminPublish(
  gw: GatewayFixture,
  topic: string,
  data: string,
  event: string,
  key: string,
): Promise<string> {
  const res = await fetch(`${gw.adminUrl}/publish/${topic}?event=${encodeURIComponent(event)}`, {
    method: 'POST',
    body: data,
    headers: { 'idempotency-key': key },
  });
  const body = (await res.json()) as { id?: string };
  if (res.status !== 200 || body.id === undefined) {
    throw new Error(`publish answered ${res.status}: ${JSON.stringify(body)}`);
  }
  return body.id;
}

describe('publisher SDK to a real gateway (redis broker)', () => {
  it('delivers an SDK-published event to a subscriber, exactly, with the id publish resolved to', async () => {
    await using d = await deployment();
    const stream = await subscribe(`${d.gw.publicUrl}/subscribe/orders`);
    try {
      const id = await d.publisher.publish('orders/42', { status: 'shipped' }, { event: 'status' });
      // A marker after it: once it arrives, anything else would have arrived too.
      const marker = await d.publisher.publish('orders/marker', 'end');
      await stream.waitForEvents(2);
      expect(stream.events).toEqual([
        { id, event: 'status', data: '{"status":"shipped"}' },
        { id: marker, event: undefined, data: 'end' },
      ]);
    } finally {
      stream.close();
    }
  });

  it('keeps the order of a publishMany batch at the subscriber, ids in input order', async () => {
    await using d = await deployment();
    const stream = await subscribe(`${d.gw.publicUrl}/subscribe/feed`);
    try {
      const batch = Array.from({ length: 50 }, (_, i) => ({
        topic: `feed/${['a', 'b', 'c'][i % 3] ?? 'a'}`,
        data: `e${i}`,
        ...(i % 5 === 0 ? { event: 'fifth' } : {}),
      }));
      const ids = await d.publisher.publishMany(batch);
      expect(ids).toHaveLength(50);
      expect(new Set(ids).size).toBe(50);
      await stream.waitForEvents(50);
      expect(stream.events.map((e) => e.id)).toEqual(ids);
      expect(stream.events.map((e) => e.data)).toEqual(batch.map((e) => e.data));
      expect(stream.events.map((e) => e.event)).toEqual(batch.map((e) => e.event));
    } finally {
      stream.close();
    }
  });

  it('delivers an event retried with the same idempotency key once', async () => {
    await using d = await deployment();
    const stream = await subscribe(`${d.gw.publicUrl}/subscribe/jobs`);
    try {
      const options = { event: 'job.done', idempotencyKey: 'job-7-done' };
      const first = await d.publisher.publish('jobs/7', { ok: true }, options);
      const retry = await d.publisher.publish('jobs/7', { ok: true }, options);
      const [inBatch] = await d.publisher.publishMany([
        { topic: 'jobs/7', data: { ok: true }, ...options },
      ]);
      expect(retry).toBe(first);
      expect(inBatch).toBe(first);
      const marker = await d.publisher.publish('jobs/marker', 'end');
      await stream.waitForEvents(2);
      expect(stream.events).toEqual([
        { id: first, event: 'job.done', data: '{"ok":true}' },
        { id: marker, event: undefined, data: 'end' },
      ]);
    } finally {
      stream.close();
    }
  });

  it('replays SDK-published events after Last-Event-ID, then continues live', async () => {
    await using d = await deployment();
    const cursor = await d.publisher.publish('r', 'cursor');
    const missed = await d.publisher.publishMany([
      { topic: 'r/a', data: 'a', event: 'named' },
      { topic: 'other', data: 'not matching' },
      { topic: 'r/b/c', data: 'b' },
    ]);
    const c = await d.publisher.publish('r', 'c');
    const stream = await subscribe(`${d.gw.publicUrl}/subscribe/r`, {
      headers: { 'last-event-id': cursor },
    });
    try {
      await stream.waitForEvents(3);
      const live = await d.publisher.publish('r/live', 'live');
      await stream.waitForEvents(4);
      expect(stream.events).toEqual([
        { id: missed[0], event: 'named', data: 'a' },
        { id: missed[2], event: undefined, data: 'b' },
        { id: c, event: undefined, data: 'c' },
        { id: live, event: undefined, data: 'live' },
      ]);
    } finally {
      stream.close();
    }
  });

  it('shares idempotency with the gateway publish route: same key and content, same id, one delivery', async () => {
    await using d = await deployment();
    const stream = await subscribe(`${d.gw.publicUrl}/subscribe/pay`);
    try {
      // Gateway first, then the SDK.
      const viaGateway = await adminPublish(d.gw, 'pay/1', 'paid', 'payment', 'pay-1');
      const viaSdk = await d.publisher.publish('pay/1', 'paid', {
        event: 'payment',
        idempotencyKey: 'pay-1',
      });
      expect(viaSdk).toBe(viaGateway);
      // SDK first, then the gateway.
      const sdkFirst = await d.publisher.publish('pay/2', 'refunded', {
        event: 'payment',
        idempotencyKey: 'pay-2',
      });
      const gatewaySecond = await adminPublish(d.gw, 'pay/2', 'refunded', 'payment', 'pay-2');
      expect(gatewaySecond).toBe(sdkFirst);
      const marker = await d.gw.publish('pay/marker', 'end');
      await stream.waitForEvents(3);
      expect(stream.events).toEqual([
        { id: viaGateway, event: 'payment', data: 'paid' },
        { id: sdkFirst, event: 'payment', data: 'refunded' },
        { id: marker, event: undefined, data: 'end' },
      ]);
    } finally {
      stream.close();
    }
  });
});

describe('HTTP publisher to a real gateway (embedded broker)', () => {
  it('publishes through the admin routes, with the admin token, and maps the gateway’s errors', async () => {
    await using gw = await startGateway({ adminToken: 'the-admin-token' });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/http`);
    const publisher = createHttpPublisher({ url: gw.adminUrl, token: 'the-admin-token' });
    try {
      const one = await publisher.publish('http/one', { n: 1 }, { event: 'created' });
      const [two, three] = await publisher.publishMany([
        { topic: 'http/two', data: 'second' },
        { topic: 'http/three', data: 'third\nline' },
      ]);
      await stream.waitForEvents(3);
      expect(stream.events).toEqual([
        { id: one, event: 'created', data: '{"n":1}' },
        { id: two, event: undefined, data: 'second' },
        { id: three, event: undefined, data: 'third\nline' },
      ]);
      const wrongToken = createHttpPublisher({ url: gw.adminUrl, token: 'wrong' });
      await expect(wrongToken.publish('http/x', 'x')).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
      });
      await wrongToken.close();
    } finally {
      await publisher.close();
      stream.close();
    }
  });
});
