/**
 * The Redis broker through Redis Sentinel (SPEC 9): the gateway finds the master by asking the
 * sentinels, and a stream survives a failover with every accepted event delivered once, in
 * order. Real `redis-server` and `redis-sentinel` processes (RedisSentinelGroup of @ssehub/local-redis).
 */
import { randomUUID } from 'node:crypto';
import { streamKey } from '@ssehub/protocol';
import { describe, expect, it } from 'vitest';
import { RedisSentinelGroup, redisCli } from '@ssehub/local-redis';
import { startGateway } from '../helpers/gateway-fixture.js';
import { request } from '../helpers/http-client.js';
import { subscribe } from '../helpers/sse-client.js';
import { eventually, sleep } from '../helpers/timing.js';

function uniquePrefix(): string {
  return `t${randomUUID().replaceAll('-', '')}`;
}

/** Names of this gateway's connections (`<prefix>:gateway:cmd|sub`) open on a Redis server. */
async function gatewayConnections(port: number, prefix: string): Promise<string[]> {
  const lines = await redisCli(port, 'CLIENT', 'LIST');
  return lines.flatMap((line) => {
    const name = /\bname=(\S+)/.exec(line)?.[1];
    return name?.startsWith(`${prefix}:gateway:`) === true ? [name] : [];
  });
}

/** Publishes over the admin port, retrying 503 (broker unavailable) until a 200; resolves to the id. */
async function publishRetrying(adminUrl: string, topic: string, data: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await request(`${adminUrl}/publish/${topic}`, { method: 'POST', body: data });
    const id = (res.body as { id?: unknown } | undefined)?.id;
    if (res.status === 200 && typeof id === 'string') return id;
    if (res.status !== 503 || Date.now() > deadline) {
      throw new Error(`publish of ${data} answered ${res.status}: ${res.text}`);
    }
    await sleep(100);
  }
}

describe('redis broker through Sentinel', () => {
  it('finds the master through the sentinels, then subscribes and publishes', async () => {
    await using group = await RedisSentinelGroup.start({ sentinels: 3 });
    const prefix = uniquePrefix();
    await using gw = await startGateway({
      brokerKind: 'redis',
      redisSentinels: group.sentinels,
      redisSentinelName: group.name,
      redisPrefix: prefix,
    });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/pets/dogs`);
    const id = await gw.publish('pets/dogs', 'Corgi', 'new-dog');
    await stream.waitForEvents(1);
    expect(stream.events).toEqual([{ id, event: 'new-dog', data: 'Corgi' }]);
    // Both connections sit on the master the sentinels name, none on the replica.
    const master = await group.masterPort();
    expect((await gatewayConnections(master, prefix)).sort()).toEqual([
      `${prefix}:gateway:cmd`,
      `${prefix}:gateway:sub`,
    ]);
    expect(await gatewayConnections(await group.replicaPort(), prefix)).toEqual([]);
    stream.close();
  });

  it('keeps a stream across a Sentinel failover: every accepted event once, in order', async () => {
    await using group = await RedisSentinelGroup.start({ sentinels: 1 });
    const prefix = uniquePrefix();
    await using gw = await startGateway({
      brokerKind: 'redis',
      redisSentinels: group.sentinels,
      redisSentinelName: group.name,
      redisPrefix: prefix,
    });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/failover`);
    const accepted: { id: string; data: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const data = `before-${i}`;
      accepted.push({ id: await publishRetrying(gw.adminUrl, 'failover', data), data });
    }
    await stream.waitForEvents(accepted.length);
    // Replication is asynchronous: fail over only once the replica holds every accepted event,
    // so none is lost (SPEC 9 promises only the events Redis still holds).
    await group.waitForReplicaSync();
    const oldMaster = await group.masterPort();
    const newMaster = await group.failover();
    expect(newMaster).not.toBe(oldMaster);
    // The old master stays up and writable until Sentinel demotes it seconds later; what it
    // accepts meanwhile is thrown away. Publish once the gateway has left it (the failover
    // detector drops both connections on +switch-master; they reconnect to the new master).
    await eventually(
      () => gatewayConnections(oldMaster, prefix),
      (names) => names.length === 0,
      { timeoutMs: 15_000, intervalMs: 20, what: 'the gateway to leave the old master' },
    );
    for (let i = 0; i < 5; i++) {
      const data = `after-${i}`;
      accepted.push({ id: await publishRetrying(gw.adminUrl, 'failover', data), data });
    }
    await stream.waitForEvents(accepted.length, 20_000);
    // A moment for anything extra (a repeat from the backfill) to show up.
    await sleep(300);
    expect(stream.ended).toBe(false);
    expect(stream.events.map((e) => ({ id: e.id, data: e.data }))).toEqual(accepted);
    // The relay really lost its subscriber connection and came back (resubscribe + backfill).
    expect(gw.broker.counters().relayDisconnects).toBeGreaterThanOrEqual(1);
    expect(await gatewayConnections(newMaster, prefix)).toContain(`${prefix}:gateway:sub`);
    // And the new master holds every one of them.
    const held = await redisCli(newMaster, 'XLEN', streamKey({ prefix, shardCount: 1 }, 0));
    expect(held).toEqual([String(accepted.length)]);
    stream.close();
  });
});
