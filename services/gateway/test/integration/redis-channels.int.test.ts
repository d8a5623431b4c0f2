/**
 * The relay's minimal channel cover on real Redis (DESIGN.md): a replica subscribes a channel
 * only when no subscribed channel already brings its events, swaps covers without losing events,
 * and leaves nothing subscribed when its clients leave.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { startGateway } from '../helpers/gateway-fixture.js';
import { subscribe } from '../helpers/sse-client.js';
import { eventually } from '../helpers/timing.js';

describe('redis relay channel cover', () => {
  it('subscribes only the cover, swaps it as subscriptions come and go, and loses no event', async () => {
    const prefix = `t${randomUUID().replaceAll('-', '')}`;
    await using gw = await startGateway({ brokerKind: 'redis', redisPrefix: prefix });
    const admin = new Redis(inject('redisUrl'));
    const base = `${prefix}:{${prefix}:s0}:`;
    const channels = async (): Promise<string[]> =>
      ((await admin.pubsub('CHANNELS', `${prefix}:*`)) as string[]).sort();
    const settle = (expected: string[]): Promise<string[]> =>
      eventually(channels, (now) => JSON.stringify(now) === JSON.stringify(expected), {
        what: `channels ${expected.join(', ')}`,
      });
    try {
      const ab = await subscribe(`${gw.publicUrl}/subscribe/a/b`);
      const abc = await subscribe(`${gw.publicUrl}/subscribe?topic=a/b/c`);
      // The exact channel of a/b/c is covered by the subtree channel of a/b.
      await settle([`${base}sub:a/b`]);
      const first = await gw.publish('a/b/c', 'one');
      await Promise.all([ab.waitForEvents(1), abc.waitForEvents(1)]);

      const a = await subscribe(`${gw.publicUrl}/subscribe/a`);
      await settle([`${base}sub:a`]);
      const second = await gw.publish('a/b/c', 'two');
      await Promise.all([a.waitForEvents(1), ab.waitForEvents(2), abc.waitForEvents(2)]);

      // The cover leaves: a/b is subscribed again before a is dropped.
      a.close();
      await settle([`${base}sub:a/b`]);
      const third = await gw.publish('a/b/c', 'three');
      await Promise.all([ab.waitForEvents(3), abc.waitForEvents(3)]);
      expect(ab.events.map((e) => e.id)).toEqual([first, second, third]);
      expect(abc.events.map((e) => e.id)).toEqual([first, second, third]);
      expect(a.events.map((e) => e.id)).toEqual([second]);

      const all = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
      await settle([`${base}all`]);
      const fourth = await gw.publish('z', 'four');
      await all.waitForEvents(1);
      expect(all.events.map((e) => e.id)).toEqual([fourth]);

      for (const stream of [ab, abc, all]) stream.close();
      await settle([]);
    } finally {
      admin.disconnect();
    }
  });
});
