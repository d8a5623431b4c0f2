/**
 * The Redis broker under faults that need no second gateway (SPEC 9, DESIGN.md "Failure
 * handling"): the request-path circuit breaker, and a history that went backwards (a failover to
 * a replica that missed the newest events) retiring its epoch so old cursors read as
 * `history_lost`. The multi-replica faults are in cluster-replicas.int.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { metaKey, streamKey } from '@ssehub/protocol';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { startGateway } from '../helpers/gateway-fixture.js';
import { request } from '../helpers/http-client.js';
import { metricValue } from '../helpers/metrics.js';
import { RedisServer } from '@ssehub/local-redis';
import { subscribe } from '../helpers/sse-client.js';
import { eventually } from '../helpers/timing.js';

describe('redis broker resilience', () => {
  it('opens the circuit while Redis is down (publishes fail fast with 503) and closes it after', async () => {
    const redis = await RedisServer.start();
    try {
      await using gw = await startGateway({ brokerKind: 'redis', redisUrl: redis.url });
      expect(await metricValue(gw.adminUrl, 'ssehub_broker_breaker_state')).toBe(0);
      await redis.kill();
      for (let i = 0; i < 20; i++) {
        const res = await request(`${gw.adminUrl}/publish/t`, { method: 'POST', body: 'x' });
        expect(res.status).toBe(503);
      }
      expect(await metricValue(gw.adminUrl, 'ssehub_broker_breaker_state')).toBe(2);
      expect(await metricValue(gw.adminUrl, 'ssehub_broker_up')).toBe(0);
      await redis.restart();
      // After the reset timeout one trial call goes through; success closes the circuit.
      await eventually(
        async () =>
          (await request(`${gw.adminUrl}/publish/t`, { method: 'POST', body: 'y' })).status,
        (status) => status === 200,
        { timeoutMs: 15_000, intervalMs: 250, what: 'a publish to succeed again' },
      );
      expect(await metricValue(gw.adminUrl, 'ssehub_broker_breaker_state')).toBe(0);
    } finally {
      await redis.stop();
    }
  });

  it('retires the epoch when the history went backwards, so old cursors get history_lost', async () => {
    const prefix = `t${randomUUID().replaceAll('-', '')}`;
    await using gw = await startGateway({ brokerKind: 'redis', redisPrefix: prefix });
    const admin = new Redis(inject('redisUrl'));
    try {
      const stream = await subscribe(`${gw.publicUrl}/subscribe/fail`);
      const seen = await gw.publish('fail', 'accepted by the old master');
      await stream.waitForEvents(1);
      // What a failover to a lagging replica looks like: same meta (same epoch), but the
      // stream's newest entries are gone and its last id is below what the gateway saw.
      const keys = { prefix, shardCount: 1 };
      await admin.del(streamKey(keys, 0));
      await admin.xadd(streamKey(keys, 0), '1-1', 't', 'fail', 'e', '', 'd', 'old');
      const epochBefore = await admin.hget(metaKey(keys, 0), 'epoch');
      // Drop only this gateway's relay connection; it reconnects, backfills, and finds the gap.
      const clients = await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub');
      const ours = String(clients)
        .split('\n')
        .find((line) => line.includes(`name=${prefix}:gateway:sub`));
      const id = /\bid=(\d+)/.exec(ours ?? '')?.[1];
      expect(id).toBeDefined();
      await admin.client('KILL', 'ID', id ?? '');
      // The stream covering the shard is closed so its client resumes from history.
      await stream.waitForEnd(10_000);
      const epochAfter = await eventually(
        () => admin.hget(metaKey(keys, 0), 'epoch'),
        (epoch) => epoch !== epochBefore,
        { what: 'a new epoch' },
      );
      expect(await admin.hget(metaKey(keys, 0), 'pastEpochs')).toBe(epochBefore);
      expect(epochAfter).not.toBe(epochBefore);
      const resumed = await subscribe(`${gw.publicUrl}/subscribe/fail`, {
        headers: { 'last-event-id': seen },
      });
      await resumed.waitForEvents(1);
      expect(resumed.events[0]?.event).toBe('ssehub.reset');
      expect(resumed.events[0]?.data).toBe('{"reason":"history_lost"}');
      resumed.close();
    } finally {
      admin.disconnect();
    }
  });
});
