/**
 * Two promises of the Redis broker that need several gateways or a foreign writer (SPEC 9, 10):
 * any replica's `/admin/api/stats` lists every live replica, and messages on ssehub's channels
 * that ssehub did not write are counted and skipped without disturbing the relay.
 */
import { randomUUID } from 'node:crypto';
import { exactChannel } from '@ssehub/protocol';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { RedisBroker } from '../../src/broker/redis/redis-broker.js';
import { startGateway } from '../helpers/gateway-fixture.js';
import { request } from '../helpers/http-client.js';
import { metricValue } from '../helpers/metrics.js';
import { subscribe } from '../helpers/sse-client.js';
import { eventually } from '../helpers/timing.js';

interface StatsBody {
  readonly replica: { readonly id: string; readonly connections: number };
  readonly replicas: readonly { readonly id: string; readonly connections: number }[];
}

describe('redis relay: registry and foreign messages', () => {
  it('lists every live replica in any replica’s /admin/api/stats, and forgets a stopped one', async () => {
    const redisPrefix = `t${randomUUID().replaceAll('-', '')}`;
    await using a = await startGateway({ brokerKind: 'redis', redisPrefix });
    const b = await startGateway({ brokerKind: 'redis', redisPrefix });
    const stream = await subscribe(`${b.publicUrl}/subscribe/stats`);
    const statsOf = async (url: string): Promise<StatsBody> =>
      (await request(`${url}/admin/api/stats`)).body as StatsBody;
    const bId = (await statsOf(b.adminUrl)).replica.id;
    // Each replica reports about once a second; wait until a sees b with its connection.
    const seen = await eventually(
      () => statsOf(a.adminUrl),
      (s) => s.replicas.some((r) => r.id === bId && r.connections === 1),
      { what: 'replica b in replica a’s stats' },
    );
    expect(seen.replicas).toHaveLength(2);
    expect(seen.replicas[0]?.id).toBe(seen.replica.id);
    stream.close();
    await b.close();
    // A stopped replica's entry expires (5 s without a report).
    await eventually(
      () => statsOf(a.adminUrl),
      (s) => s.replicas.length === 1,
      { timeoutMs: 10_000, intervalMs: 250, what: 'replica b to expire from the registry' },
    );
  });

  it('counts and skips messages on its channels that ssehub did not write', async () => {
    const redisPrefix = `t${randomUUID().replaceAll('-', '')}`;
    await using gw = await startGateway({ brokerKind: 'redis', redisPrefix });
    const admin = new Redis(inject('redisUrl'));
    try {
      const stream = await subscribe(`${gw.publicUrl}/subscribe?topic=odd`);
      const channel = exactChannel({ prefix: redisPrefix, shardCount: 1 }, 'odd');
      for (const junk of ['hello', '2\nAbCd\n1-0\nodd\n\ndata', '1\nAbCd\nnot-an-id\nodd\n\nx']) {
        expect(await admin.publish(channel, junk)).toBe(1);
      }
      await eventually(
        () => metricValue(gw.adminUrl, 'ssehub_relay_messages_skipped_total'),
        (n) => n === 3,
        { what: 'three malformed messages counted' },
      );
      // The relay still delivers ssehub's own events, and none of the junk reached the client.
      const id = await gw.publish('odd', 'real');
      await stream.waitForEvents(1);
      expect(stream.events).toEqual([{ id, event: undefined, data: 'real' }]);
      stream.close();
    } finally {
      admin.disconnect();
    }
  });

  it('does not report its own close as a broker outage (no warning at every rollout)', async () => {
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
    let downs = 0;
    await broker.start({
      onEvent: () => undefined,
      onUp: () => undefined,
      onDown: () => {
        downs += 1;
      },
      onGap: () => undefined,
    });
    await broker.close();
    // The subscriber's 'close' event comes after close() resolves.
    await new Promise((r) => setTimeout(r, 200));
    expect(downs).toBe(0);
    expect(broker.counters().relayDisconnects).toBe(0);
  });
});
