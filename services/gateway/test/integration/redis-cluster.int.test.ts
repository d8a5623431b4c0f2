/**
 * The Redis broker on Redis Cluster (SPEC 9, `REDIS_CLUSTER_NODES`): a real 3-master cluster
 * (RedisCluster of @ssehub/local-redis) with REDIS_SHARDS=3, two gateways on it. Events of shards owned
 * by different masters fan out across the gateways, a multi-shard Last-Event-ID resumes on the
 * other gateway with exactly the missed events, and the relay uses sharded pub/sub (SSUBSCRIBE
 * on the owning node, nothing on classic pub/sub), leaving no shard channel behind.
 */
import { randomUUID } from 'node:crypto';
import {
  decodeEventId,
  exactChannel,
  shardOf,
  shardWildcardChannel,
  streamKey,
  type KeySpace,
} from '@ssehub/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisCluster, redisCli } from '@ssehub/local-redis';
import { RedisBroker } from '../../src/broker/redis/redis-broker.js';
import { startGateway, type GatewayFixture } from '../helpers/gateway-fixture.js';
import { subscribe, type SseStream } from '../helpers/sse-client.js';
import { eventually, sleep } from '../helpers/timing.js';

const SHARDS = 3;

/** Per topic, the data in the order received: the order SPEC 5 promises. */
function perTopic(data: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of data) (out[d.slice(0, d.indexOf('#'))] ??= []).push(d);
  return out;
}

describe('redis broker on Redis Cluster (3 masters, REDIS_SHARDS=3, sharded pub/sub)', () => {
  const prefix = `t${randomUUID().replaceAll('-', '')}`;
  const keys: KeySpace = { prefix, shardCount: SHARDS };
  let cluster: RedisCluster;
  let gateways: GatewayFixture[] = [];
  const streams: SseStream[] = [];
  /** Per shard, the port of the master owning its hash tag. */
  let owners: number[] = [];
  /** One first segment per shard, on at least two different masters. */
  let roots: string[] = [];

  const gw = (i: number): GatewayFixture => {
    const g = gateways[i];
    if (g === undefined) throw new Error(`no gateway ${String(i)}`);
    return g;
  };
  const open = async (url: string, headers?: Record<string, string>): Promise<SseStream> => {
    const stream = await subscribe(url, headers === undefined ? {} : { headers });
    streams.push(stream);
    return stream;
  };

  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
    // The three shard tags land on at least two masters (CLUSTER KEYSLOT + the slot map).
    owners = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      owners.push(await cluster.ownerOf(streamKey(keys, shard)));
    }
    const candidates = ['pets', 'news', 'time', 'users', 'orders', 'alerts', 'games', 'music'];
    roots = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      const root = candidates.find((c) => shardOf(c, SHARDS) === shard);
      if (root !== undefined) roots.push(root);
    }
    for (const options of [{}, {}]) {
      gateways.push(
        await startGateway({
          ...options,
          brokerKind: 'redis',
          redisClusterNodes: cluster.nodes,
          redisPrefix: prefix,
          redisShards: SHARDS,
        }),
      );
    }
  }, 60_000);
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });
  afterAll(async () => {
    for (const g of gateways) await g.close();
    gateways = [];
    await cluster.stop();
  });

  it('spreads the shards over at least two masters, and has a topic on every shard', () => {
    expect(new Set(owners).size).toBeGreaterThanOrEqual(2);
    expect(roots.map((root) => shardOf(root, SHARDS))).toEqual([0, 1, 2]);
  });

  it('fans out events of topics on different shards (different masters) across both gateways', async () => {
    const topics = roots.map((root) => `${root}/x`);
    const onA = await Promise.all(topics.map((t) => open(`${gw(0).publicUrl}/subscribe/${t}`)));
    const onB = await Promise.all(topics.map((t) => open(`${gw(1).publicUrl}/subscribe/${t}`)));
    const published: { topic: string; id: string; data: string }[] = [];
    for (const [i, topic] of topics.entries()) {
      for (let k = 0; k < 2; k++) {
        const data = `${topic}#${String(k)}`;
        // Alternate the publishing gateway.
        published.push({ topic, data, id: await gw((i + k) % 2).publish(topic, data) });
      }
    }
    for (const [i, topic] of topics.entries()) {
      const expected = published
        .filter((p) => p.topic === topic)
        .map((p) => ({ id: p.id, event: undefined, data: p.data }));
      for (const stream of [onA[i], onB[i]]) {
        if (stream === undefined) throw new Error('missing stream');
        await stream.waitForEvents(expected.length);
        expect(stream.events).toEqual(expected);
      }
    }
    await sleep(200); // nothing arrives twice
    for (const stream of [...onA, ...onB]) expect(stream.events).toHaveLength(2);
  });

  it('resumes `**` on the other gateway from a multi-shard Last-Event-ID: exactly the missed events', async () => {
    const topics = roots.map((root) => `${root}/y`);
    const publishRound = async (label: string, count: number): Promise<string[]> => {
      const data: string[] = [];
      let n = 0;
      for (let k = 0; k < count; k++) {
        for (const topic of topics) {
          const d = `${topic}#${label}${String(k)}`;
          await gw(n++ % 2).publish(topic, d);
          data.push(d);
        }
      }
      return data;
    };
    const everything = await open(`${gw(0).publicUrl}/subscribe?topic=**`);
    const before = await publishRound('before', 2);
    await everything.waitForEvents(before.length);
    expect(perTopic(everything.events.map((e) => e.data))).toEqual(perTopic(before));
    const lastId = everything.lastEventId;
    if (lastId === undefined) throw new Error('no Last-Event-ID');
    const shards = new Set(decodeEventId(lastId).map((c) => c.shard));
    expect(shards.size, `Last-Event-ID ${lastId} should hold a cursor per shard`).toBe(SHARDS);
    everything.close();

    const missed = await publishRound('missed', 2);
    const resumed = await open(`${gw(1).publicUrl}/subscribe?topic=**`, {
      'last-event-id': lastId,
    });
    await resumed.waitForEvents(missed.length);
    await sleep(300);
    const replayed = resumed.events.map((e) => e.data);
    expect(resumed.events.filter((e) => e.event !== undefined)).toEqual([]); // no ssehub.reset
    expect([...replayed].sort()).toEqual([...missed].sort());
    expect(perTopic(replayed)).toEqual(perTopic(missed));

    const live = await publishRound('live', 1);
    await resumed.waitForEvents(missed.length + live.length);
    await sleep(200);
    expect([...resumed.events.slice(missed.length).map((e) => e.data)].sort()).toEqual(
      [...live].sort(),
    );
  });

  it('relays through sharded pub/sub on the owning master only, and leaves no channel behind', async () => {
    const ours = (lines: readonly string[]): string[] =>
      lines.filter((line) => line.startsWith(`${prefix}:`));
    const shardChannels = async (): Promise<Map<number, string[]>> => {
      const byNode = new Map<number, string[]>();
      for (const port of cluster.ports) {
        byNode.set(port, ours(await redisCli(port, 'PUBSUB', 'SHARDCHANNELS')).sort());
      }
      return byNode;
    };
    const root = roots[0] ?? 'pets';
    const topic = `${root}/z`;
    const shard = shardOf(root, SHARDS);
    const owner = owners[shard];
    const exact = exactChannel(keys, topic);
    const stream = await open(`${gw(0).publicUrl}/subscribe?topic=${topic}`);
    const wildcard = await open(`${gw(1).publicUrl}/subscribe?topic=**`);

    const listed = await shardChannels();
    for (const port of cluster.ports) {
      const expected = [
        ...(port === owner ? [exact] : []),
        ...Array.from({ length: SHARDS }, (_, s) => s)
          .filter((s) => owners[s] === port)
          .map((s) => shardWildcardChannel(keys, s)),
      ].sort();
      expect(listed.get(port), `shard channels on node ${String(port)}`).toEqual(expected);
      // Nothing of ours on classic pub/sub, which the cluster bus would copy to every node.
      expect(ours(await redisCli(port, 'PUBSUB', 'CHANNELS'))).toEqual([]);
    }
    // One SSUBSCRIBE per gateway and channel.
    if (owner === undefined) throw new Error('no owner');
    expect(await redisCli(owner, 'PUBSUB', 'SHARDNUMSUB', exact)).toEqual([exact, '1']);

    const id = await gw(1).publish(topic, 'via spublish');
    await stream.waitForEvents(1);
    await wildcard.waitForEvents(1);
    expect(stream.events).toEqual([{ id, event: undefined, data: 'via spublish' }]);

    // The heartbeat's sync point reaches the shard's sharded subscriber (PING on it).
    const { broker } = gw(0);
    if (!(broker instanceof RedisBroker)) throw new Error('not the Redis broker');
    const head = await broker.syncPoint(shard);
    expect(head.position).toEqual(decodeEventId(id)[0]?.position);

    stream.close();
    wildcard.close();
    await eventually(
      shardChannels,
      (byNode) => [...byNode.values()].every((channels) => channels.length === 0),
      { timeoutMs: 5000, what: `no shard channel of ${prefix} subscribed` },
    );
  });

  it('keeps a stream when its node drops the sharded subscriber: resubscribes, backfills, every event once and in order', async () => {
    const root = roots[1] ?? 'news';
    const topic = `${root}/blip`;
    const owner = owners[shardOf(root, SHARDS)];
    if (owner === undefined) throw new Error('no owner');
    const stream = await open(`${gw(0).publicUrl}/subscribe?topic=${topic}`);
    const published: { id: string; data: string }[] = [];
    const publishRetrying = async (data: string): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        try {
          published.push({ id: await gw(1).publish(topic, data), data });
          return;
        } catch (err) {
          if (attempt > 50) throw err;
          await sleep(100);
        }
      }
    };
    for (let i = 0; i < 3; i++) await publishRetrying(`before ${String(i)}`);
    await stream.waitForEvents(3);
    const { broker } = gw(0);
    const disconnectsBefore = broker.counters().relayDisconnects;
    // The owning node closes every pub/sub connection it holds (both gateways' sharded subscribers).
    const killed = await redisCli(owner, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
    expect(Number(killed[0])).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 10; i++) {
      await publishRetrying(`after ${String(i)}`);
      await sleep(20);
    }
    await stream.waitForEvents(published.length, 15_000);
    await sleep(300);
    expect(stream.ended).toBe(false);
    // The relay saw the node go (down), then resubscribed and backfilled.
    expect(broker.counters().relayDisconnects).toBeGreaterThan(disconnectsBefore);
    expect(broker.isUp()).toBe(true);
    expect(stream.events.map((e) => [e.id, e.data])).toEqual(published.map((p) => [p.id, p.data]));
    // Resubscribed on the owner: a live event still arrives.
    await eventually(
      async () => redisCli(owner, 'PUBSUB', 'SHARDNUMSUB', exactChannel(keys, topic)),
      (reply) => reply[1] === '1',
      { timeoutMs: 5000, what: 'the channel resubscribed' },
    );
    await publishRetrying('live');
    await stream.waitForEvents(published.length);
    expect(stream.events.at(-1)?.data).toBe('live');
  });
});

describe('redis broker on Redis Cluster: a master killed and restarted', () => {
  it('goes down and back up; the lost shard history ends its streams, which resume with history_lost; no channel leaks', async () => {
    await using cluster = await RedisCluster.start(3);
    const prefix = `t${randomUUID().replaceAll('-', '')}`;
    const keys: KeySpace = { prefix, shardCount: SHARDS };
    await using gateway = await startGateway({
      brokerKind: 'redis',
      redisClusterNodes: cluster.nodes,
      redisPrefix: prefix,
      redisShards: SHARDS,
    });
    const root = 'pets';
    const shard = shardOf(root, SHARDS);
    const topic = `${root}/restart`;
    const owner = await cluster.ownerOf(streamKey(keys, shard));
    const channel = exactChannel(keys, topic);
    const stream = await subscribe(`${gateway.publicUrl}/subscribe?topic=${topic}`);
    try {
      const seen = await gateway.publish(topic, 'before');
      await stream.waitForEvents(1);
      const disconnectsBefore = gateway.broker.counters().relayDisconnects;

      await cluster.kill(owner);
      await eventually(
        () => gateway.broker.isUp(),
        (up) => !up,
        { timeoutMs: 5000, what: 'the broker to see the node go' },
      );
      expect(gateway.broker.counters().relayDisconnects).toBeGreaterThan(disconnectsBefore);
      await cluster.restart(owner);
      await eventually(
        () => gateway.broker.isUp(),
        (up) => up,
        { timeoutMs: 15_000, what: 'the broker to come back up' },
      );
      // The node restarted without persistence: the shard's history is gone, so the stream
      // covering it is closed and its client resumes from history (and learns it was lost).
      await stream.waitForEnd(10_000);
      await eventually(
        async () => redisCli(owner, 'PUBSUB', 'SHARDCHANNELS'),
        (channels) => !channels.includes(channel),
        { timeoutMs: 5000, what: 'no channel left subscribed on the restarted node' },
      );
      const resumed = await subscribe(`${gateway.publicUrl}/subscribe?topic=${topic}`, {
        headers: { 'last-event-id': seen },
      });
      try {
        await resumed.waitForEvents(1);
        expect(resumed.events[0]?.event).toBe('ssehub.reset');
        expect(resumed.events[0]?.data).toBe('{"reason":"history_lost"}');
        let id: string | undefined;
        for (let attempt = 0; id === undefined; attempt++) {
          try {
            id = await gateway.publish(topic, 'after restart');
          } catch (err) {
            if (attempt > 50) throw err;
            await sleep(200);
          }
        }
        await resumed.waitForEvents(2);
        expect(resumed.events[1]).toEqual({ id, event: undefined, data: 'after restart' });
      } finally {
        resumed.close();
      }
    } finally {
      stream.close();
    }
  }, 60_000);
});
