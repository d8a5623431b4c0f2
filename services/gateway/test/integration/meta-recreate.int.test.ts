/**
 * The SDK never recreates a meta hash with values other than the deployment's (SPEC 9: "Whoever
 * writes first, gateway or publisher, creates it"). After FLUSHALL, a publish from an SDK with
 * no settings of its own must not recreate the hash with the SDK's defaults (history 10000,
 * 65536 bytes) over the gateways' settings: it waits for a gateway to recreate it, or fails with
 * NOT_INITIALIZED. A running gateway recreates it with its own settings.
 */
import { randomUUID } from 'node:crypto';
import { metaKey } from '@ssehub/protocol';
import type { PublisherError } from '@ssehub/publisher';
import { createPublisher } from '@ssehub/publisher';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway-fixture.js';
import { RedisServer } from '@ssehub/local-redis';

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

describe('`FLUSHALL`, then an SDK publish before any gateway restarts (#10)', () => {
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

  it('a running gateway recreates a lost hash within its relay probe (2 s), however long HEARTBEAT_MS is (#10)', async () => {
    await withOwnRedis(async (url, admin) => {
      const redisPrefix = `t${randomUUID().slice(0, 8)}`;
      // HEARTBEAT_MS 60 s: the watermark sync does not run during the test; the relay's
      // liveness probe reads every shard's head every 2 s and recreates the hash. (Without any
      // gateway, the SDK rejects with NOT_INITIALIZED: packages/publisher/test/meta-init.)
      await using _gw = await startGateway({
        brokerKind: 'redis',
        redisUrl: url,
        redisPrefix,
        heartbeatMs: 60_000,
        keepAliveTimeoutMs: 65_000,
        ...GATEWAY_SETTINGS,
      });
      const key = metaKey({ prefix: redisPrefix, shardCount: 1 }, 0);
      const publisher = createPublisher({
        redis: url,
        prefix: redisPrefix,
        commandTimeoutMs: 6000,
      });
      try {
        await publisher.publish('a', 'before');
        await admin.flushall();
        expect(await admin.exists(key)).toBe(0);
        expect(await publisher.publish('a', 'after')).toBeTruthy();
        expect(await admin.hgetall(key)).toMatchObject({
          historySize: '50',
          maxEventBytes: '1000',
        });
      } finally {
        await publisher.close();
      }
    });
  });
});
