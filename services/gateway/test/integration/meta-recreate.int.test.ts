/**
 * The SDK never recreates a meta hash with values other than the deployment's (SPEC 9: "Whoever
 * writes first, gateway or publisher, creates it"). After FLUSHALL, a publish from an SDK with
 * no settings of its own must not recreate the hash with the SDK's defaults (history 10000,
 * 65536 bytes) over the gateways' settings: it waits for a gateway to recreate it, or fails with
 * NOT_INITIALIZED. A running gateway recreates it with its own settings.
 */
import { randomUUID } from 'node:crypto';
import { metaKey } from '@ssehub/protocol';
import { createPublisher, PublisherError } from '@ssehub/publisher';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway-fixture.js';
import { RedisServer } from '../helpers/redis-server.js';

const GATEWAY_SETTINGS = { historySize: 50, maxEventBytes: 1000 } as const;

async function withOwnRedis(run: (url: string, admin: Redis) => Promise<void>): Promise<void> {
  // Its own Redis: FLUSHALL would wipe the other tests' data on the shared one.
  const server = await RedisServer.start();
  const admin = new Redis(server.url);
  try {
    await run(server.url, admin);
  } finally {
    admin.disconnect();
    await server.stop();
  }
}

describe('meta hash after FLUSHALL (SDK defaults never win)', () => {
  it('an SDK publish waits while a running gateway recreates the hash with its settings', async () => {
    await withOwnRedis(async (url, admin) => {
      const redisPrefix = `t${randomUUID().slice(0, 8)}`;
      // HEARTBEAT_MS 200: the gateway's watermark sync notices the missing hash within 0.2 s.
      await using gw = await startGateway({
        brokerKind: 'redis',
        redisUrl: url,
        redisPrefix,
        heartbeatMs: 200,
        ...GATEWAY_SETTINGS,
      });
      const publisher = createPublisher({ redis: url, prefix: redisPrefix });
      try {
        await publisher.publish('a', 'before');
        await admin.flushall();
        await publisher.publish('a', 'after');
        expect(
          await admin.hgetall(metaKey({ prefix: redisPrefix, shardCount: 1 }, 0)),
        ).toMatchObject({ historySize: '50', maxEventBytes: '1000' });
        // The gateway's MAX_EVENT_BYTES holds for the SDK too.
        const err = await publisher.publish('a', 'x'.repeat(1001)).catch((e: unknown) => e);
        expect((err as PublisherError).code).toBe('EVENT_TOO_LARGE');
        expect(await gw.publish('a', 'gateway')).toBeTruthy();
      } finally {
        await publisher.close();
      }
    });
  });

  it('without a gateway to recreate it in time, the SDK fails with NOT_INITIALIZED and writes nothing', async () => {
    await withOwnRedis(async (url, admin) => {
      const redisPrefix = `t${randomUUID().slice(0, 8)}`;
      // HEARTBEAT_MS 60 s: nothing on the gateway notices the flush during the SDK's wait.
      await using gw = await startGateway({
        brokerKind: 'redis',
        redisUrl: url,
        redisPrefix,
        heartbeatMs: 60_000,
        keepAliveTimeoutMs: 65_000,
        ...GATEWAY_SETTINGS,
      });
      const publisher = createPublisher({ redis: url, prefix: redisPrefix, commandTimeoutMs: 500 });
      const key = metaKey({ prefix: redisPrefix, shardCount: 1 }, 0);
      try {
        await publisher.publish('a', 'before');
        // The gateway's first watermark sync runs on its first maintenance tick (1 s): let it
        // pass, so the next one is 60 s away.
        await new Promise((r) => setTimeout(r, 1500));
        await admin.flushall();
        const err = await publisher.publish('a', 'after').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PublisherError);
        expect((err as PublisherError).code).toBe('NOT_INITIALIZED');
        expect((err as PublisherError).message).toContain(`prefix "${redisPrefix}"`);
        expect(await admin.exists(key)).toBe(0);
        // The gateway's next publish recreates it with the gateway's settings; the SDK follows.
        await gw.publish('a', 'gateway');
        expect(await admin.hgetall(key)).toMatchObject({
          historySize: '50',
          maxEventBytes: '1000',
        });
        expect(await publisher.publish('a', 'again')).toBeTruthy();
        expect(await admin.hget(key, 'historySize')).toBe('50');
      } finally {
        await publisher.close();
      }
    });
  });
});
