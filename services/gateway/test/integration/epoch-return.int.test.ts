/**
 * An epoch the relay left never becomes current again (docs/redis.md "An epoch never comes
 * back"; found by the Sentinel fault-injection run, seed 2002, as 39 silently lost and 5 repeated
 * events). A retirement is a write to one server: a failover to a node that never received it
 * makes the old epoch current again. Here one Redis plays both servers: the meta hash is moved to
 * another epoch (the retirement), then put back as it was (the failover that lost it). Before
 * the fix the relay kept following the newer epoch and dropped every message of the returned one
 * as stale: live subscribers missed them without a reset.
 */
import { randomUUID } from 'node:crypto';
import { metaKey } from '@ssehub/protocol';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway-fixture.js';
import { RedisServer } from '@ssehub/local-redis';
import { subscribe } from '../helpers/sse-client.js';
import { eventually } from '../helpers/timing.js';

describe('an epoch the relay left comes back (a failover lost its retirement) (#10)', () => {
  it('is retired again, and a live subscriber gets the events or a reset, never a silent gap', async () => {
    // Its own Redis: the test rewrites the meta hash.
    const server = await RedisServer.start();
    const admin = new Redis(server.url);
    try {
      const redisPrefix = `t${randomUUID().slice(0, 8)}`;
      // HEARTBEAT_MS 60 s: no sync point runs during the test, so only the relay's own checks
      // (a message of another epoch, the 2 s liveness probe) can notice the epoch moving.
      await using gw = await startGateway({
        brokerKind: 'redis',
        redisUrl: server.url,
        redisPrefix,
        heartbeatMs: 60_000,
        keepAliveTimeoutMs: 65_000,
      });
      const meta = metaKey({ prefix: redisPrefix, shardCount: 1 }, 0);
      await gw.publish('a', 'one');
      const first = await admin.hmget(meta, 'epoch', 'pastEpochs');
      const original = first[0] ?? '';
      expect(original).toHaveLength(4);

      // The retirement, as BUMP_EPOCH_SCRIPT writes it on the server that noticed a loss.
      const retiredTo = original === 'Rt01' ? 'Rt02' : 'Rt01';
      await admin.hset(meta, 'epoch', retiredTo, 'pastEpochs', original);
      const before = await subscribe(`${gw.publicUrl}/subscribe?topic=a`);
      await gw.publish('a', 'two'); // a message of the new epoch: the relay follows it
      await before.waitFor(() => before.ended, 5000, 'the stream of the shard to resume');

      // The relay follows the new epoch; a subscriber opened now is live on it.
      const live = await subscribe(`${gw.publicUrl}/subscribe?topic=a`);
      await gw.publish('a', 'three');
      await live.waitForEvents(1);
      expect(live.events.map((e) => e.data)).toEqual(['three']);

      // A failover to a server that never received the retirement: the old epoch is back.
      await admin.hset(meta, 'epoch', original, 'pastEpochs', first[1] ?? '');
      await gw.publish('a', 'four');
      // The relay retires the returned epoch again, keeping both left ones as past epochs…
      const after = await eventually(
        () => admin.hmget(meta, 'epoch', 'pastEpochs'),
        ([epoch]) => epoch !== original && epoch !== retiredTo,
        { what: 'the returned epoch retired again', timeoutMs: 8000 },
      );
      expect((after[1] ?? '').split(',')).toEqual(expect.arrayContaining([original, retiredTo]));
      // …and the live subscriber got `four` or had its stream resumed: never a silent gap.
      await live.waitFor(
        () => live.ended || live.events.some((e) => e.data === 'four'),
        5000,
        '`four` or a resumed stream',
      );
      // Resuming from any id it holds now reads as history_lost.
      const resumed = await subscribe(`${gw.publicUrl}/subscribe?topic=a`, {
        headers: { 'Last-Event-ID': live.lastEventId ?? '' },
      });
      await resumed.waitForEvents(1);
      expect(resumed.events[0]?.event).toBe('ssehub.reset');
      expect(JSON.parse(resumed.events[0]?.data ?? '{}')).toEqual({ reason: 'history_lost' });
      before.close();
      live.close();
      resumed.close();
    } finally {
      admin.disconnect();
      await server.stop();
    }
  });
});
