/**
 * Multi-replica end-to-end tests (SPEC 3, 5 and 9): three real gateway processes
 * (`node dist/main.js`) on one real Redis, each describe with its own REDIS_PREFIX. Tests that
 * kill, restart or disconnect Redis get a `redis-server` of their own, so the shared one (and the
 * other suites on it) never sees a fault. Needs a build (`npx tsc -p tsconfig.build.json`).
 */
import {
  decodeEventId,
  exactChannel,
  shardOf,
  shardWildcardChannel,
  subtreeChannel,
} from '@ssehub/protocol';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { freePort, runGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { errorCode, rawRequest, request } from '../helpers/http-client.js';
import { metricValue } from '../helpers/metrics.js';
import { RedisServer } from '@ssehub/local-redis';
import {
  StreamPool,
  isAlive,
  publish,
  publishOk,
  publishUntilAccepted,
  redisCli,
  startReplicas,
  stopReplicas,
  uniquePrefix,
  type PublishAnswer,
} from '../helpers/replicas.js';
import type { SseEvent, SseStream } from '../helpers/sse-client.js';
import { EVENT_STREAM, expectNotReadyAnswer } from '../helpers/subscribe-http.js';
import { eventually, sleep } from '../helpers/timing.js';

/** What a published event looks like to a subscriber with one shard: the publish's id and data. */
interface Published {
  readonly id: string;
  readonly topic: string;
  readonly data: string;
}

function idsAndData(events: readonly SseEvent[]): [string | undefined, string][] {
  return events.map((e) => [e.id, e.data]);
}

function expectedIdsAndData(published: readonly Published[]): [string, string][] {
  return published.map((p) => [p.id, p.data]);
}

/** Every stream still open (SPEC 9: clients stay connected through Redis trouble). */
function expectConnected(streams: readonly SseStream[]): void {
  expect(streams.map((s) => s.ended)).toEqual(streams.map(() => false));
}

/** Escapes `text` for a RegExp. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('three replicas on one Redis (REDIS_SHARDS=1)', () => {
  const redisUrl = inject('redisUrl');
  const prefix = uniquePrefix();
  const pool = new StreamPool();
  let replicas: GatewayProcess[] = [];
  const r = (i: number): GatewayProcess => replicas[i]!;

  beforeAll(async () => {
    replicas = await startReplicas(3, redisUrl, prefix, {
      REDIS_SHARDS: '1',
      HEARTBEAT_MS: '1000',
    });
  });
  afterEach(() => {
    pool.closeAll();
  });
  afterAll(async () => {
    await stopReplicas(replicas);
  });

  it('fans an event published on one replica out to subscribers on all three, with the same id', async () => {
    const streams = await Promise.all([
      pool.subscribe(`${r(0).publicUrl}/subscribe/fan`),
      pool.subscribe(`${r(1).publicUrl}/subscribe?topic=fan/dogs`),
      pool.subscribe(`${r(2).publicUrl}/subscribe?topic=fan/*`),
    ]);
    const published: Published[] = [];
    for (const [i, proc] of replicas.entries()) {
      const data = `from replica ${i}`;
      const id = await publishOk(proc.adminUrl, 'fan/dogs', data, { event: 'new-dog' });
      published.push({ id, topic: 'fan/dogs', data });
    }
    for (const stream of streams) {
      await stream.waitForEvents(published.length);
      expect(stream.events).toEqual(
        published.map((p) => ({ id: p.id, event: 'new-dog', data: p.data })),
      );
    }
    await sleep(200); // nothing arrives twice
    for (const stream of streams) expect(stream.events).toHaveLength(published.length);
  });

  it('resumes on another replica with Last-Event-ID: exactly the missed events, then live', async () => {
    const first = await pool.subscribe(`${r(0).publicUrl}/subscribe/resume`);
    const seen: Published[] = [];
    for (let i = 0; i < 3; i++) {
      const data = `seen ${i}`;
      seen.push({ id: await publishOk(r(2).adminUrl, 'resume/x', data), topic: 'resume/x', data });
    }
    await first.waitForEvents(seen.length);
    expect(idsAndData(first.events)).toEqual(expectedIdsAndData(seen));
    const lastId = first.lastEventId;
    expect(lastId).toBe(seen.at(-1)?.id);
    first.close();

    const missed: Published[] = [];
    for (let i = 0; i < 5; i++) {
      const data = `missed ${i}`;
      const topic = i % 2 === 0 ? 'resume/x' : 'resume/y/z';
      missed.push({ id: await publishOk(r(i % 3).adminUrl, topic, data), topic, data });
      await publishOk(r(2).adminUrl, 'resume-not/x', `other ${i}`); // not under resume/**
    }

    const resumed = await pool.subscribe(`${r(1).publicUrl}/subscribe/resume`, {
      headers: { 'last-event-id': lastId! },
    });
    // The opening block carries the client's cursor (SPEC 3).
    expect(resumed.raw).toMatch(new RegExp(`^: ok\\nretry: \\d+\\nid: ${literal(lastId!)}\\n\\n`));
    await resumed.waitForEvents(missed.length);
    expect(idsAndData(resumed.events)).toEqual(expectedIdsAndData(missed));

    const live: Published[] = [];
    for (let i = 0; i < 2; i++) {
      const data = `live ${i}`;
      live.push({ id: await publishOk(r(0).adminUrl, 'resume/x', data), topic: 'resume/x', data });
    }
    await resumed.waitForEvents(missed.length + live.length);
    await sleep(200);
    expect(idsAndData(resumed.events)).toEqual(expectedIdsAndData([...missed, ...live]));
  });

  it('delivers an event published on another replica right after `: ok`, 100 rounds over every replica pair', async () => {
    const pairs: [number, number][] = [
      [0, 1],
      [1, 2],
      [2, 0],
      [0, 2],
      [2, 1],
      [1, 0],
    ];
    for (let round = 0; round < 100; round++) {
      const [x, y] = pairs[round % pairs.length]!;
      // Even rounds: a topic nobody held (a new SUBSCRIBE); odd rounds: one the previous holder
      // just released (unsubscribe and subscribe of one channel racing).
      const topic = round % 2 === 0 ? `race/r${round}` : 'race/shared';
      const stream = await pool.subscribe(`${r(x).publicUrl}/subscribe/${topic}`);
      const data = `round ${round}`;
      const id = await publishOk(r(y).adminUrl, topic, data);
      await stream.waitForEvents(1).catch((err: unknown) => {
        throw new Error(
          `round ${round} (subscribe on replica ${x}, publish on ${y}, ${topic}): event lost`,
          { cause: err },
        );
      });
      expect(stream.events, `round ${round}`).toEqual([{ id, event: undefined, data }]);
      stream.close();
    }
  });

  it('leaves no Redis subscription behind once every client of a topic has left', async () => {
    const keys = { prefix, shardCount: 1 };
    const exact = exactChannel(keys, 'leak/a');
    const subtree = subtreeChannel(keys, 'leak');
    const all = shardWildcardChannel(keys, 0);
    const streams = await Promise.all([
      pool.subscribe(`${r(0).publicUrl}/subscribe?topic=leak/a`),
      pool.subscribe(`${r(1).publicUrl}/subscribe/leak`),
      pool.subscribe(`${r(1).publicUrl}/subscribe/leak`),
      pool.subscribe(`${r(2).publicUrl}/subscribe?topic=leak/*/c`),
      pool.subscribe(`${r(2).publicUrl}/subscribe?topic=**`),
    ]);
    const listed = await redisCli(redisUrl, 'PUBSUB', 'CHANNELS', `${prefix}:*`);
    expect([...listed].sort()).toEqual([exact, subtree, all].sort());
    // One Redis subscription per replica and channel, however many local clients hold it, and
    // only the minimal cover: replica 2 holds `**`, whose wildcard channel brings `leak/*/c`'s
    // events too, so it drops the subtree channel of `leak` (just after the wildcard's
    // confirmation, hence the wait).
    const expected = [exact, '1', subtree, '1', all, '1'];
    await eventually(
      () => redisCli(redisUrl, 'PUBSUB', 'NUMSUB', exact, subtree, all),
      (numsub) => JSON.stringify(numsub) === JSON.stringify(expected),
      { timeoutMs: 5000, what: 'one subscription per channel of the minimal cover' },
    );

    for (const stream of streams) stream.close();
    await eventually(
      () => redisCli(redisUrl, 'PUBSUB', 'CHANNELS', `${prefix}:*`),
      (channels) => channels.length === 0,
      { timeoutMs: 5000, what: `no channel of ${prefix} subscribed` },
    );
    expect(await redisCli(redisUrl, 'PUBSUB', 'NUMSUB', ...listed)).toEqual(
      listed.flatMap((c) => [c, '0']),
    );
  });

  it('refuses to start with REDIS_SHARDS=2 on a prefix created with REDIS_SHARDS=1: exit code 1, naming REDIS_SHARDS', async () => {
    const result = await runGateway(
      {
        env: {
          PORT: String(await freePort()),
          ADMIN_PORT: String(await freePort()),
          REDIS_URL: redisUrl,
          REDIS_PREFIX: prefix,
          REDIS_SHARDS: '2',
          LOG_LEVEL: 'warn',
        },
      },
      8000,
    );
    const output = `${result.stderr}${result.stdout}`;
    expect(output).toContain('REDIS_SHARDS');
    expect(
      { code: result.code, signal: result.signal },
      `it did not exit by itself (killed after 8 s):\n${output}`,
    ).toEqual({ code: 1, signal: null });
    // The deployment is untouched: the running replicas still relay.
    const stream = await pool.subscribe(`${r(0).publicUrl}/subscribe/after-refusal`);
    const id = await publishOk(r(1).adminUrl, 'after-refusal', 'still here');
    await stream.waitForEvents(1);
    expect(stream.events).toEqual([{ id, event: undefined, data: 'still here' }]);
  });
});

describe('three replicas with REDIS_SHARDS=4', () => {
  const redisUrl = inject('redisUrl');
  const prefix = uniquePrefix();
  const pool = new StreamPool();
  let replicas: GatewayProcess[] = [];
  const r = (i: number): GatewayProcess => replicas[i]!;

  beforeAll(async () => {
    replicas = await startReplicas(3, redisUrl, prefix, { REDIS_SHARDS: '4', HEARTBEAT_MS: '500' });
  });
  afterEach(() => {
    pool.closeAll();
  });
  afterAll(async () => {
    await stopReplicas(replicas);
  });

  /** Per topic, the data in the order received: the order SPEC 5 promises. */
  function perTopic(data: readonly string[]): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const d of data) (out[d.slice(0, d.indexOf('#'))] ??= []).push(d);
    return out;
  }

  it('fans out events of several shards to `**` and `pets/**`, and resumes `**` on a third replica from a multi-shard id', async () => {
    // First segments on at least three different shards, `pets` among them.
    const roots = ['pets'];
    for (const candidate of [
      'news',
      'time',
      'users',
      'orders',
      'alerts',
      'games',
      'music',
      'sports',
    ]) {
      if (!roots.some((root) => shardOf(root, 4) === shardOf(candidate, 4))) roots.push(candidate);
    }
    expect(new Set(roots.map((root) => shardOf(root, 4))).size).toBeGreaterThanOrEqual(3);
    const topics = roots.flatMap((root) =>
      root === 'pets' ? ['pets/dogs', 'pets/cats'] : [`${root}/x`],
    );
    const publishRound = async (label: string, perTopicCount: number): Promise<string[]> => {
      const data: string[] = [];
      let n = 0;
      for (let k = 0; k < perTopicCount; k++) {
        for (const topic of topics) {
          const d = `${topic}#${label}${k}`;
          await publishOk(r(n++ % 3).adminUrl, topic, d);
          data.push(d);
        }
      }
      return data;
    };

    const everything = await pool.subscribe(`${r(0).publicUrl}/subscribe?topic=**`);
    const pets = await pool.subscribe(`${r(1).publicUrl}/subscribe/pets`);
    const before = await publishRound('before', 3);
    await everything.waitForEvents(before.length);
    const petsData = before.filter((d) => d.startsWith('pets/'));
    await pets.waitForEvents(petsData.length);
    await sleep(200);
    expect([...everything.events.map((e) => e.data)].sort()).toEqual([...before].sort());
    expect(perTopic(everything.events.map((e) => e.data))).toEqual(perTopic(before));
    expect(pets.events.map((e) => e.data)).toEqual(petsData);

    const lastId = everything.lastEventId!;
    const shards = new Set(decodeEventId(lastId).map((c) => c.shard));
    expect(shards.size, `Last-Event-ID ${lastId} should hold a cursor per shard`).toBeGreaterThan(
      1,
    );
    everything.close();

    const missed = await publishRound('missed', 2);
    const resumed = await pool.subscribe(`${r(2).publicUrl}/subscribe?topic=**`, {
      headers: { 'last-event-id': lastId },
    });
    await resumed.waitForEvents(missed.length);
    await sleep(200);
    const replayed = resumed.events.map((e) => e.data);
    expect(resumed.events.filter((e) => e.event !== undefined)).toEqual([]); // no ssehub.reset
    expect([...replayed].sort()).toEqual([...missed].sort());
    expect(perTopic(replayed)).toEqual(perTopic(missed));

    const live = await publishRound('live', 1);
    await resumed.waitForEvents(missed.length + live.length);
    await sleep(200);
    const after = resumed.events.slice(missed.length).map((e) => e.data);
    expect([...after].sort()).toEqual([...live].sort());
  });
});

describe('Redis faults with persistence (appendonly, fsync always)', () => {
  const pool = new StreamPool();
  let redis: RedisServer | undefined;
  let replicas: GatewayProcess[] = [];
  const r = (i: number): GatewayProcess => replicas[i]!;
  const url = (): string => redis!.url;

  beforeAll(async () => {
    redis = await RedisServer.start({ appendOnly: true });
    replicas = await startReplicas(3, redis.url, uniquePrefix(), { HEARTBEAT_MS: '1000' });
  });
  beforeEach(async () => {
    // A test that failed mid-fault must not fail the next one: start each with every replica's
    // broker connection (commands and relay) up.
    for (const proc of replicas) {
      await eventually(
        () => metricValue(proc.adminUrl, 'ssehub_broker_up'),
        (v) => v === 1,
        { timeoutMs: 10_000, what: 'ssehub_broker_up 1 before the test' },
      );
    }
  });
  afterEach(() => {
    pool.closeAll();
  });
  afterAll(async () => {
    await stopReplicas(replicas);
    await redis?.stop();
  });

  // First in this describe on purpose: replica 2 has relayed no event yet when its subscriber
  // connection drops, so it has no "last id seen" to backfill from.
  it('delivers events published while the relay reconnects, on a replica that had relayed none before', async () => {
    const stream = await pool.subscribe(`${r(2).publicUrl}/subscribe/quiet`);
    // Only replica 2 holds a channel, so its subscriber connection is the one pubsub client.
    const killed = await redisCli(url(), 'CLIENT', 'KILL', 'TYPE', 'pubsub');
    expect(Number(killed[0])).toBe(1);
    const published: Published[] = [];
    const publishQuiet = async (data: string): Promise<void> => {
      published.push({
        id: await publishOk(r(0).adminUrl, 'quiet/x', data),
        topic: 'quiet/x',
        data,
      });
    };
    // At once, while replica 2's relay reconnects (replica 0's command connection is untouched).
    for (let i = 0; i < 30; i++) await publishQuiet(`quiet ${i}`);
    // And once the relay is back for sure.
    await eventually(
      () => metricValue(r(2).adminUrl, 'ssehub_broker_up'),
      (v) => v === 1,
      { timeoutMs: 10_000, what: 'replica 2 broker up again' },
    );
    await publishQuiet('quiet after');

    await stream.waitForEvents(published.length, 5000).catch((err: unknown) => {
      throw new Error(
        `got ${stream.events.length} of ${published.length}: [${stream.events.map((e) => e.data).join(', ')}]`,
        { cause: err },
      );
    });
    await sleep(200);
    expect(idsAndData(stream.events)).toEqual(expectedIdsAndData(published));
    expectConnected([stream]);
  });

  it('keeps clients connected through CLIENT KILL TYPE pubsub and delivers every event once, in order', async () => {
    const streams = await Promise.all([
      pool.subscribe(`${r(0).publicUrl}/subscribe/kill`),
      pool.subscribe(`${r(1).publicUrl}/subscribe?topic=kill/*`),
      pool.subscribe(`${r(2).publicUrl}/subscribe/kill`),
    ]);
    const total = 90;
    const published: Published[] = [];
    const publishing = (async () => {
      for (let i = 0; i < total; i++) {
        const data = `kill ${i}`;
        published.push({
          id: await publishOk(r(i % 3).adminUrl, 'kill/e', data),
          topic: 'kill/e',
          data,
        });
        await sleep(5);
      }
    })();
    const kills: number[] = [];
    for (const at of [20, 45, 70]) {
      await eventually(
        () => published.length,
        (n) => n >= at,
        { timeoutMs: 20_000, what: `${at} publishes` },
      );
      kills.push(Number((await redisCli(url(), 'CLIENT', 'KILL', 'TYPE', 'pubsub'))[0]));
    }
    await publishing;
    expect(kills[0]).toBe(3); // each replica's subscriber connection was cut at least once
    for (const stream of streams) {
      await stream.waitForEvents(total, 15_000);
    }
    await sleep(300);
    for (const stream of streams) {
      expect(idsAndData(stream.events)).toEqual(expectedIdsAndData(published));
    }
    expectConnected(streams);
  });

  it('survives a Redis restart with persistence: clients stay connected, no accepted event lost or repeated', async () => {
    const streams = await Promise.all([
      pool.subscribe(`${r(0).publicUrl}/subscribe/aof`),
      pool.subscribe(`${r(1).publicUrl}/subscribe/aof`),
      pool.subscribe(`${r(2).publicUrl}/subscribe?topic=aof/**`),
    ]);
    const accepted: Published[] = [];
    // Every answer that was not a 200; publishUntilAccepted throws on anything but 503
    // BROKER_UNAVAILABLE, so each of these was one.
    const refusals: PublishAnswer[] = [];
    const publishSome = async (label: string, count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const data = `${label} ${i}`;
        const { id } = await publishUntilAccepted(
          r(i % 3).adminUrl,
          'aof/e',
          data,
          `${label}-${i}-${String(Date.now())}`,
          { onRefusal: (answer) => refusals.push(answer) },
        );
        accepted.push({ id, topic: 'aof/e', data });
      }
    };

    await publishSome('before', 10);
    for (const stream of streams) await stream.waitForEvents(10);

    await redis!.kill();
    let restarted = false;
    try {
      let failed: Error | undefined;
      const during = publishSome('during', 5);
      during.catch((err: unknown) => {
        failed = err instanceof Error ? err : new Error(String(err));
      });
      await eventually(
        () => {
          if (failed !== undefined) throw failed;
          return refusals.length;
        },
        (n) => n >= 3,
        { timeoutMs: 10_000, what: 'publishes refused while Redis is down' },
      );
      expect(accepted).toHaveLength(10); // nothing was accepted while Redis was down
      await redis!.restart();
      restarted = true;
      await during;
    } finally {
      if (!restarted) await redis!.restart();
    }
    await publishSome('after', 10);

    for (const refusal of refusals) {
      expect([refusal.status, refusal.code]).toEqual([503, 'BROKER_UNAVAILABLE']);
    }
    for (const stream of streams) await stream.waitForEvents(accepted.length, 15_000);
    await sleep(300);
    for (const stream of streams) {
      expect(idsAndData(stream.events)).toEqual(expectedIdsAndData(accepted));
    }
    expectConnected(streams);
  });

  it('while Redis is down: /readyz 200, broker_up 0, not-ready answers, fast 503 publishes, no crash; then heals', async () => {
    const existing = await pool.subscribe(`${r(0).publicUrl}/subscribe/down`);
    await redis!.kill();
    try {
      for (const proc of replicas) {
        await eventually(
          () => metricValue(proc.adminUrl, 'ssehub_broker_up'),
          (v) => v === 0,
          { timeoutMs: 5000, what: 'ssehub_broker_up 0' },
        );
        expect((await request(`${proc.adminUrl}/readyz`)).status).toBe(200);

        const retry = expectNotReadyAnswer(
          await rawRequest(proc.publicUrl, '/subscribe/down', { headers: EVENT_STREAM }),
        );
        expect(retry).toBeGreaterThanOrEqual(1000);
        expect(retry).toBeLessThanOrEqual(5000);

        const plain = await request(`${proc.publicUrl}/subscribe/down`);
        expect([plain.status, errorCode(plain)]).toEqual([503, 'NOT_READY']);

        const startedAt = Date.now();
        const published = await publish(proc.adminUrl, 'down/x', 'refused');
        expect([published.status, published.code]).toEqual([503, 'BROKER_UNAVAILABLE']);
        expect(Date.now() - startedAt, 'hang guard').toBeLessThan(5000);
      }
      await sleep(500); // still nothing crashes a while later
      for (const proc of replicas) {
        expect(isAlive(proc)).toBe(true);
        expect((await request(`${proc.adminUrl}/healthz`)).status).toBe(200);
      }
      expectConnected([existing]);
    } finally {
      await redis!.restart();
    }

    for (const proc of replicas) {
      await eventually(
        () => metricValue(proc.adminUrl, 'ssehub_broker_up'),
        (v) => v === 1,
        { timeoutMs: 10_000, what: 'ssehub_broker_up 1' },
      );
    }
    const fresh = await Promise.all(
      replicas.map((proc) => pool.subscribeWhenReady(`${proc.publicUrl}/subscribe/down`)),
    );
    const id = await publishOk(r(1).adminUrl, 'down/x', 'healed');
    for (const stream of [...fresh, existing]) {
      await stream.waitForEvents(1, 10_000);
      expect(stream.events).toEqual([{ id, event: undefined, data: 'healed' }]);
    }
  });
});

describe('Redis restart without persistence', () => {
  const pool = new StreamPool();
  let redis: RedisServer | undefined;
  let replicas: GatewayProcess[] = [];
  const r = (i: number): GatewayProcess => replicas[i]!;

  beforeAll(async () => {
    redis = await RedisServer.start();
    replicas = await startReplicas(2, redis.url, uniquePrefix(), { HEARTBEAT_MS: '1000' });
  });
  afterEach(() => {
    pool.closeAll();
  });
  afterAll(async () => {
    await stopReplicas(replicas);
    await redis?.stop();
  });

  it('sends ssehub.reset (history_lost, or unknown_id) to a client resuming with a pre-restart id on another replica, then live events', async () => {
    const before = await pool.subscribe(`${r(0).publicUrl}/subscribe/lost`);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await publishOk(r(1).adminUrl, 'lost/x', `before ${i}`));
    await before.waitForEvents(ids.length);
    const preRestartId = before.lastEventId!;
    expect(preRestartId).toBe(ids.at(-1));
    before.close();

    await redis!.restart();
    // Published after the loss and before the client is back: a reset is followed by live events
    // only (no partial replay, SPEC 5).
    await publishUntilAccepted(r(0).adminUrl, 'lost/x', 'between', `between-${String(Date.now())}`);

    const resumed = await pool.subscribeWhenReady(`${r(1).publicUrl}/subscribe/lost`, {
      headers: { 'last-event-id': preRestartId },
    });
    await resumed.waitForEvents(1);
    const [reset] = resumed.events;
    expect(reset?.event).toBe('ssehub.reset');
    const reason = (JSON.parse(reset!.data) as { reason?: unknown }).reason;
    // SPEC 5: history_lost, or unknown_id when no gateway that saw the old epoch could record it.
    expect(['history_lost', 'unknown_id']).toContain(reason);
    expect(reset!.id).toBeDefined();
    expect(reset!.id).not.toBe(preRestartId);

    const liveId = await publishOk(r(0).adminUrl, 'lost/x', 'live after reset');
    await resumed.waitForEvents(2, 10_000);
    await sleep(200);
    expect(resumed.events.slice(1)).toEqual([
      { id: liveId, event: undefined, data: 'live after reset' },
    ]);
  });
});
