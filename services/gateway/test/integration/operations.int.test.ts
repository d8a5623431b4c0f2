/**
 * Operations (SPEC 10): health and readiness, Prometheus metrics, the stats and presence views,
 * slow consumers, the connection age limit and the drain, each against a real gateway on real
 * sockets.
 */
import { describe, expect, it } from 'vitest';
import type { GatewayInjections } from '../../src/index.js';
import { startGateway, type StartOptions } from '../helpers/gateway-fixture.js';
import { FakeBroker } from '../helpers/fake-broker.js';
import { errorCode, request } from '../helpers/http-client.js';
import { metricTypes, scrape } from '../helpers/metrics.js';
import { HeaderAuthenticator, TEST_SUB_HEADER } from '../helpers/operations.js';
import { SseStream, subscribe } from '../helpers/sse-client.js';
import { eventually, sleep } from '../helpers/timing.js';

/** Start options with an injected authenticator (the fixture passes unknown options on to createGateway). */
function withAuth(auth: HeaderAuthenticator, options: StartOptions = {}): StartOptions {
  const all: StartOptions & GatewayInjections = { ...options, authenticator: auth };
  return all;
}

/** Asserts the not-ready answer an EventSource gets (SPEC 3) and returns its `retry:` value. */
function notReadyRetry(stream: SseStream): number {
  expect(stream.status).toBe(200);
  expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  expect(stream.headers['connection']).toBe('close');
  expect(stream.raw).toMatch(/^retry: \d+\n: not ready\n\n$/);
  return Number(/^retry: (\d+)/.exec(stream.raw)?.[1]);
}

const SPEC_METRICS = {
  ssehub_connections: 'gauge',
  ssehub_subscriptions: 'gauge',
  ssehub_events_published_total: 'counter',
  ssehub_events_delivered_total: 'counter',
  ssehub_slow_consumers_closed_total: 'counter',
  ssehub_connections_rejected_total: 'counter',
  ssehub_broker_up: 'gauge',
  ssehub_relay_lag_seconds: 'histogram',
  ssehub_history_events: 'gauge',
} as const;

describe('health and readiness', () => {
  it('answers /healthz with 200', async () => {
    await using gw = await startGateway();
    const res = await request(`${gw.adminUrl}/healthz`);
    expect(res.status).toBe(200);
  });

  it('answers /readyz 200 once ready and 503 from the moment draining starts; new streams are turned away', async () => {
    await using gw = await startGateway();
    expect((await request(`${gw.adminUrl}/readyz`)).status).toBe(200);
    await gw.gateway.drain(0);
    expect((await request(`${gw.adminUrl}/readyz`)).status).toBe(503);
    expect((await request(`${gw.adminUrl}/healthz`)).status).toBe(200);

    const plain = await request(`${gw.publicUrl}/subscribe/pets`);
    expect(plain.status).toBe(503);
    expect(errorCode(plain)).toBe('NOT_READY');
    const eventSource = await SseStream.open(`${gw.publicUrl}/subscribe/pets`);
    await eventSource.waitForEnd();
    const retry = notReadyRetry(eventSource);
    expect(retry).toBeGreaterThanOrEqual(1000);
    expect(retry).toBeLessThanOrEqual(5000);
  });

  it('keeps /readyz at 200 while the broker is down, with ssehub_broker_up 0 and new streams turned away (SPEC 9)', async () => {
    await using gw = await startGateway({ brokerKind: 'fake' });
    const broker = gw.broker;
    if (!(broker instanceof FakeBroker)) throw new Error('expected the fake broker');
    const open = await subscribe(`${gw.publicUrl}/subscribe/pets`);
    expect((await scrape(gw.adminUrl)).value('ssehub_broker_up')).toBe(1);

    broker.goDown();
    expect((await request(`${gw.adminUrl}/readyz`)).status).toBe(200);
    const metrics = await scrape(gw.adminUrl);
    expect(metrics.value('ssehub_broker_up')).toBe(0);
    expect(metrics.value('ssehub_connections')).toBe(1);
    const refused = await request(`${gw.publicUrl}/subscribe/pets`);
    expect(refused.status).toBe(503);
    expect(errorCode(refused)).toBe('NOT_READY');
    const eventSource = await SseStream.open(`${gw.publicUrl}/subscribe/pets`);
    await eventSource.waitForEnd();
    notReadyRetry(eventSource);
    expect(open.ended).toBe(false);

    broker.goUp();
    expect((await scrape(gw.adminUrl)).value('ssehub_broker_up')).toBe(1);
    const again = await subscribe(`${gw.publicUrl}/subscribe/pets`);
    expect(again.raw.startsWith(': ok\n')).toBe(true);
    again.close();
    open.close();
  });
});

describe('/metrics', () => {
  it('is Prometheus text with every metric family of SPEC 10, each of its type', async () => {
    await using gw = await startGateway();
    const metrics = await scrape(gw.adminUrl);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const types = metricTypes(metrics.text);
    for (const [name, type] of Object.entries(SPEC_METRICS))
      expect([name, types.get(name)]).toEqual([name, type]);
    expect(metrics.text).toMatch(/^ssehub_relay_lag_seconds_bucket\{le="\+Inf"\} 0$/m);
    expect(metrics.value('ssehub_broker_up')).toBe(1);
  });

  it('moves with real traffic: connections and subscriptions up and down, one delivery per recipient', async () => {
    await using gw = await startGateway();
    const before = await scrape(gw.adminUrl);
    expect(before.value('ssehub_connections')).toBe(0);
    expect(before.value('ssehub_subscriptions')).toBe(0);

    const one = await subscribe(`${gw.publicUrl}/subscribe/pets`);
    const two = await subscribe(`${gw.publicUrl}/subscribe?topic=pets/*&topic=news/**`);
    const all = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
    const open = await scrape(gw.adminUrl);
    expect(open.value('ssehub_connections')).toBe(3);
    expect(open.value('ssehub_subscriptions')).toBe(4);

    await gw.publish('pets/dogs', 'Corgi', 'new-dog'); // one, two, all
    await gw.publish('news/today', 'nothing'); // two, all
    await gw.publish('weather', 'rain'); // all
    await Promise.all([one.waitForEvents(1), two.waitForEvents(2), all.waitForEvents(3)]);
    const bad = await request(`${gw.publicUrl}/subscribe/pe*ts`);
    expect(errorCode(bad)).toBe('INVALID_TOPIC');

    const busy = await scrape(gw.adminUrl);
    expect(busy.value('ssehub_events_published_total')).toBe(3);
    expect(busy.value('ssehub_events_delivered_total')).toBe(6);
    expect(busy.value('ssehub_relay_lag_seconds_count')).toBe(3);
    expect(busy.value('ssehub_history_events')).toBe(3);
    expect(busy.value('ssehub_connections_rejected_total', { code: 'INVALID_TOPIC' })).toBe(1);
    expect(busy.value('ssehub_slow_consumers_closed_total')).toBe(0);

    one.close();
    all.close();
    const fewer = await eventually(
      () => scrape(gw.adminUrl),
      (m) => m.value('ssehub_connections') === 1,
      { what: 'ssehub_connections 1' },
    );
    expect(fewer.value('ssehub_subscriptions')).toBe(2);
    two.close();
    const none = await eventually(
      () => scrape(gw.adminUrl),
      (m) => m.value('ssehub_connections') === 0,
      { what: 'ssehub_connections 0' },
    );
    expect(none.value('ssehub_subscriptions')).toBe(0);
    expect(none.value('ssehub_connections_closed_total', { reason: 'client_closed' })).toBe(3);
  });
});

interface ReplicaView {
  id: string;
  connections: number;
  subscriptions: number;
  topics: number;
  eventsInPerSec: number;
  eventsOutPerSec: number;
  startedAt: string;
}

interface StatsBody {
  replica: ReplicaView;
  replicas: ReplicaView[];
}

async function stats(adminUrl: string): Promise<StatsBody> {
  const res = await request(`${adminUrl}/admin/api/stats`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return res.body as StatsBody;
}

describe('/admin/api/stats', () => {
  it('describes this replica and lists it among the replicas', async () => {
    const startedBefore = Date.now();
    await using gw = await startGateway();
    const a = await subscribe(`${gw.publicUrl}/subscribe?topic=pets/**&topic=news/*`);
    const b = await subscribe(`${gw.publicUrl}/subscribe/pets`);
    const body = await stats(gw.adminUrl);
    expect(body.replica).toMatchObject({
      connections: 2,
      subscriptions: 3,
      topics: 2,
      eventsInPerSec: 0,
      eventsOutPerSec: 0,
    });
    expect(typeof body.replica.id).toBe('string');
    expect(body.replica.id).not.toBe('');
    const startedAt = Date.parse(body.replica.startedAt);
    expect(startedAt).toBeGreaterThanOrEqual(startedBefore - 1000);
    expect(startedAt).toBeLessThanOrEqual(Date.now());
    expect(body.replicas.map((r) => r.id)).toEqual([body.replica.id]);
    expect(body.replicas[0]?.connections).toBe(2);
    a.close();
    b.close();
  });

  it('serves the /admin status page with this replica in it', async () => {
    await using gw = await startGateway();
    const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
    const { replica } = await stats(gw.adminUrl);
    const page = await request(`${gw.adminUrl}/admin`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).toContain(`<td>${replica.id}</td><td>1</td><td>1</td><td>1</td>`);
    stream.close();
  });

  it('reports non-zero event rates under traffic (20 events/s for 3 s)', async () => {
    await using gw = await startGateway();
    const reader = await subscribe(`${gw.publicUrl}/subscribe/ticks`);
    const second = await subscribe(`${gw.publicUrl}/subscribe?topic=ticks`);
    for (let i = 0; i < 60; i++) {
      await gw.publish('ticks', `tick ${i}`);
      await sleep(50);
    }
    await Promise.all([reader.waitForEvents(60), second.waitForEvents(60)]);
    const body = await stats(gw.adminUrl);
    expect(body.replica.eventsInPerSec).toBeGreaterThan(0);
    // Every event went out twice.
    expect(body.replica.eventsOutPerSec).toBeGreaterThan(body.replica.eventsInPerSec);
    expect(body.replicas.find((r) => r.id === body.replica.id)?.eventsInPerSec).toBeGreaterThan(0);
    reader.close();
    second.close();
  });
});

interface PresenceBody {
  topic: string;
  subjects: { sub: string; connections: number }[];
}

async function presence(adminUrl: string, topic: string): Promise<PresenceBody> {
  const res = await request(`${adminUrl}/admin/api/presence?topic=${encodeURIComponent(topic)}`);
  expect(res.status).toBe(200);
  return res.body as PresenceBody;
}

describe('/admin/api/presence', () => {
  it('lists no subjects with auth off, echoes the normalized pattern, and refuses a bad pattern', async () => {
    await using gw = await startGateway();
    const anonymous = await subscribe(`${gw.publicUrl}/subscribe/pets`);
    expect(await presence(gw.adminUrl, '/pets/*')).toEqual({ topic: 'pets/*', subjects: [] });
    for (const bad of ['pets/**/dogs', 'pets//dogs', '', 'pe*ts']) {
      const res = await request(
        `${gw.adminUrl}/admin/api/presence?topic=${encodeURIComponent(bad)}`,
      );
      expect([bad, res.status, errorCode(res)]).toEqual([bad, 400, 'INVALID_TOPIC']);
    }
    anonymous.close();
  });

  it('counts, per subject, the streams whose patterns overlap the asked pattern', async () => {
    const auth = new HeaderAuthenticator();
    await using gw = await startGateway(withAuth(auth));
    const as = (sub: string) => ({ headers: { [TEST_SUB_HEADER]: sub } });
    const streams = await Promise.all([
      subscribe(`${gw.publicUrl}/subscribe/pets`, as('alice')),
      subscribe(`${gw.publicUrl}/subscribe?topic=pets/dogs`, as('alice')),
      subscribe(`${gw.publicUrl}/subscribe/news`, as('alice')),
      subscribe(`${gw.publicUrl}/subscribe?topic=*/cats&topic=pets/cats`, as('bob')),
      subscribe(`${gw.publicUrl}/subscribe?topic=weather`, as('carol')),
      subscribe(`${gw.publicUrl}/subscribe/pets`), // anonymous: never listed
    ]);

    expect(await presence(gw.adminUrl, 'pets/dogs')).toEqual({
      topic: 'pets/dogs',
      subjects: [{ sub: 'alice', connections: 2 }],
    });
    expect(await presence(gw.adminUrl, 'pets/*')).toEqual({
      topic: 'pets/*',
      subjects: [
        { sub: 'alice', connections: 2 },
        { sub: 'bob', connections: 1 },
      ],
    });
    expect((await presence(gw.adminUrl, '**')).subjects).toEqual([
      { sub: 'alice', connections: 3 },
      { sub: 'bob', connections: 1 },
      { sub: 'carol', connections: 1 },
    ]);
    expect((await presence(gw.adminUrl, 'news/today')).subjects).toEqual([
      { sub: 'alice', connections: 1 },
    ]);
    expect((await presence(gw.adminUrl, 'people')).subjects).toEqual([]);

    streams[0].close();
    await eventually(
      () => presence(gw.adminUrl, 'pets/dogs'),
      (p) => p.subjects[0]?.connections === 1,
      { what: "alice's count to drop to 1" },
    );
    for (const s of streams) s.close();
    await eventually(
      () => presence(gw.adminUrl, '**'),
      (p) => p.subjects.length === 0,
      { what: 'no subjects left' },
    );
  });

  it('refuses a subject over MAX_CONNECTIONS_PER_SUBJECT with 429 (the not-ready answer for an EventSource)', async () => {
    const auth = new HeaderAuthenticator();
    await using gw = await startGateway(withAuth(auth, { maxConnectionsPerSubject: 2 }));
    const alice = { [TEST_SUB_HEADER]: 'alice' };
    const first = await subscribe(`${gw.publicUrl}/subscribe/a`, { headers: alice });
    const second = await subscribe(`${gw.publicUrl}/subscribe/b`, { headers: alice });

    const third = await request(`${gw.publicUrl}/subscribe/c`, { headers: alice });
    expect(third.status).toBe(429);
    expect(errorCode(third)).toBe('TOO_MANY_CONNECTIONS');
    const eventSource = await SseStream.open(`${gw.publicUrl}/subscribe/c`, { headers: alice });
    await eventSource.waitForEnd();
    const retry = notReadyRetry(eventSource);
    expect(retry).toBeGreaterThanOrEqual(5000);
    expect(retry).toBeLessThanOrEqual(10_000);

    // Other subjects and anonymous clients are not affected.
    const bob = await subscribe(`${gw.publicUrl}/subscribe/c`, {
      headers: { [TEST_SUB_HEADER]: 'bob' },
    });
    const anonymous = await subscribe(`${gw.publicUrl}/subscribe/c`);
    expect(
      (await scrape(gw.adminUrl)).value('ssehub_connections_rejected_total', {
        code: 'TOO_MANY_CONNECTIONS',
      }),
    ).toBe(2);

    // Closing one of alice's streams frees her slot.
    first.close();
    const again = await eventually(
      async () => {
        const s = await SseStream.open(`${gw.publicUrl}/subscribe/c`, { headers: alice });
        await s.waitFor(() => s.ended || s.raw.includes('\n\n'));
        return s;
      },
      (s) => s.raw.startsWith(': ok\n'),
      { what: "a slot for alice's third stream" },
    );
    expect((await presence(gw.adminUrl, '**')).subjects).toEqual([
      { sub: 'alice', connections: 2 },
      { sub: 'bob', connections: 1 },
    ]);
    for (const s of [second, bob, anonymous, again]) s.close();
  });
});

describe('slow consumers', () => {
  const EVENT = 'x'.repeat(60_000);

  it('closes a client that stops reading, counts it, and leaves a reading client alone; the closed one resumes from history', async () => {
    const auth = new HeaderAuthenticator();
    await using gw = await startGateway(withAuth(auth, { maxBufferedBytes: 262_144 }));
    const reader = await subscribe(`${gw.publicUrl}/subscribe/feed`);
    const slowUrl = `${gw.publicUrl}/subscribe?topic=feed`;
    const slow = await SseStream.open(slowUrl, { paused: true });
    const slowSocket = auth.socketOf('/subscribe?topic=feed');

    // The kernel's socket buffers take the first few MB; then the gateway holds the rest, up to the limit.
    const ids: string[] = [];
    for (let i = 0; i < 400; i++) {
      ids.push(await gw.publish('feed', EVENT));
      if ((await scrape(gw.adminUrl)).value('ssehub_slow_consumers_closed_total') > 0) break;
    }
    const metrics = await scrape(gw.adminUrl);
    expect(metrics.value('ssehub_slow_consumers_closed_total')).toBe(1);
    expect(metrics.value('ssehub_connections_closed_total', { reason: 'slow_consumer' })).toBe(1);
    expect(metrics.value('ssehub_connections')).toBe(1);
    // The bytes it would not take are dropped with the socket, not kept for it.
    expect(slowSocket.destroyed).toBe(true);

    await reader.waitForEvents(ids.length, 10_000);
    expect(reader.events.map((e) => e.id)).toEqual(ids);
    expect(reader.ended).toBe(false);

    slow.resume();
    await slow.waitForEnd(10_000);
    const received = slow.events.map((e) => e.id);
    expect(received.length).toBeLessThan(ids.length);
    expect(received).toEqual(ids.slice(0, received.length));

    const resumed = await subscribe(slowUrl, {
      headers: { 'last-event-id': slow.lastEventId ?? '' },
    });
    await resumed.waitForEvents(ids.length - received.length, 10_000);
    expect([...received, ...resumed.events.map((e) => e.id)]).toEqual(ids);
    expect(reader.ended).toBe(false);
    reader.close();
    resumed.close();
  });

  it('does not close a reading client that receives a burst larger than MAX_BUFFERED_BYTES in one batch', async () => {
    await using gw = await startGateway({ maxBufferedBytes: 262_144 });
    const reader = await subscribe(`${gw.publicUrl}/subscribe/burst`);
    const events = Array.from({ length: 100 }, (_, i) => ({
      topic: 'burst',
      data: `${i}:${'y'.repeat(4000)}`,
    }));
    const res = await request(`${gw.adminUrl}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    expect(res.status).toBe(200);
    await reader.waitForEvents(100);
    expect(reader.events.map((e) => e.data.split(':')[0])).toEqual(events.map((_, i) => String(i)));
    const metrics = await scrape(gw.adminUrl);
    expect(metrics.value('ssehub_slow_consumers_closed_total')).toBe(0);
    expect(metrics.value('ssehub_connections')).toBe(1);
    expect(reader.ended).toBe(false);
    reader.close();
  });

  it('does not count bytes that reading clients already took against MAX_TOTAL_BUFFERED_BYTES', async () => {
    // 20 readers each get a 10 kB event (below the socket's 16 kB high-water mark, so no
    // 'drain' follows): 200 kB went out, none of it is still unsent, so nobody is over the cap.
    await using gw = await startGateway({ maxTotalBufferedBytes: 100_000, heartbeatMs: 100 });
    const readers = await Promise.all(
      Array.from({ length: 20 }, () => subscribe(`${gw.publicUrl}/subscribe/fan`)),
    );
    const id = await gw.publish('fan', 'z'.repeat(10_000));
    await Promise.all(readers.map((r) => r.waitForEvents(1)));
    await sleep(200); // several maintenance ticks
    const metrics = await scrape(gw.adminUrl);
    expect(metrics.value('ssehub_slow_consumers_closed_total')).toBe(0);
    expect(metrics.value('ssehub_connections')).toBe(20);
    for (const r of readers) expect([r.events[0]?.id, r.ended]).toEqual([id, false]);
    for (const r of readers) r.close();
  });

  it('past MAX_TOTAL_BUFFERED_BYTES, closes the streams holding the most first', async () => {
    const auth = new HeaderAuthenticator();
    const cap = 2 * 1024 * 1024;
    await using gw = await startGateway(
      withAuth(auth, {
        maxBufferedBytes: 64 * 1024 * 1024,
        maxTotalBufferedBytes: cap,
        heartbeatMs: 100,
      }),
    );
    const topics = ['big', 'medium', 'small'] as const;
    const streams = await Promise.all(
      topics.map((t) => SseStream.open(`${gw.publicUrl}/subscribe/${t}`, { paused: true })),
    );
    const sockets = topics.map((t) => auth.socketOf(`/subscribe/${t}`));
    const published = new Map<string, string[]>(topics.map((t) => [t, []]));
    const publishUntil = async (topic: string, done: () => boolean): Promise<void> => {
      for (let i = 0; i < 400 && !done(); i++)
        published.get(topic)?.push(await gw.publish(topic, EVENT));
      expect(done()).toBe(true);
    };
    const slowClosed = async (): Promise<number> =>
      (await scrape(gw.adminUrl)).value('ssehub_slow_consumers_closed_total');

    // big holds 60% of the cap, medium 25%: together still under it.
    await publishUntil('big', () => (sockets[0]?.writableLength ?? 0) >= 0.6 * cap);
    await publishUntil('medium', () => (sockets[1]?.writableLength ?? 0) >= 0.25 * cap);
    await sleep(100); // several maintenance ticks
    expect(await slowClosed()).toBe(0);
    // small's bytes push the sum past the cap: big goes, and that is enough.
    let closed = 0;
    for (let i = 0; i < 400 && closed === 0; i++) {
      published.get('small')?.push(await gw.publish('small', EVENT));
      closed = await slowClosed();
    }
    await sleep(200);
    const metrics = await scrape(gw.adminUrl);
    expect(metrics.value('ssehub_slow_consumers_closed_total')).toBe(1);
    expect(
      metrics.value('ssehub_connections_closed_total', { reason: 'total_buffer_exceeded' }),
    ).toBe(1);
    expect(metrics.value('ssehub_connections')).toBe(2);
    expect(sockets.map((s) => s.destroyed)).toEqual([true, false, false]);

    for (const s of streams) s.resume();
    await streams[0]?.waitForEnd(10_000);
    for (const [index, topic] of topics.entries()) {
      if (index === 0) continue;
      const ids = published.get(topic) ?? [];
      await streams[index]?.waitForEvents(ids.length, 10_000);
      expect(streams[index]?.events.map((e) => e.id)).toEqual(ids);
      expect(streams[index]?.ended).toBe(false);
    }
    for (const s of streams) s.close();
  });
});

describe('MAX_CONNECTION_AGE_MS', () => {
  it('closes a stream after the age plus at most 20% jitter, cleanly and with connection: close', async () => {
    // heartbeatMs 100: the maintenance tick that enforces the age runs every 25 ms.
    await using gw = await startGateway({ maxConnectionAgeMs: 500, heartbeatMs: 100 });
    const requested = Date.now();
    const streams = await Promise.all(
      Array.from({ length: 5 }, () => subscribe(`${gw.publicUrl}/subscribe/age`)),
    );
    const opened = Date.now();
    const ages = await Promise.all(
      streams.map(async (s) => {
        await s.waitForEnd(5000);
        return { sinceRequest: Date.now() - requested, sinceOpen: Date.now() - opened };
      }),
    );
    for (const { sinceRequest, sinceOpen } of ages) {
      expect(sinceRequest).toBeGreaterThanOrEqual(500);
      // 600 ms at most, plus a tick, plus generous scheduling slack on a busy machine.
      expect(sinceOpen).toBeLessThan(1000);
    }
    for (const s of streams) {
      expect(s.headers['connection']).toBe('close');
      expect(s.raw.endsWith('\n\n')).toBe(true);
    }
    const metrics = await scrape(gw.adminUrl);
    expect(metrics.value('ssehub_connections_closed_total', { reason: 'max_age' })).toBe(5);
    expect(metrics.value('ssehub_connections')).toBe(0);
  });

  it('loses and repeats nothing when the client resumes with its last event id after each age close', async () => {
    await using gw = await startGateway({ maxConnectionAgeMs: 500, heartbeatMs: 100 });
    const url = `${gw.publicUrl}/subscribe/aging`;
    const published: string[] = [];
    const stopPublishing = new AbortController();
    const publisher = (async () => {
      for (let i = 0; !stopPublishing.signal.aborted; i++) {
        published.push(await gw.publish('aging', `event ${i}`));
        await sleep(15);
      }
    })();

    const received: string[] = [];
    let lastEventId: string | undefined;
    let generations = 0;
    const started = Date.now();
    while (Date.now() - started < 1800) {
      const headers: Record<string, string> =
        lastEventId === undefined ? {} : { 'last-event-id': lastEventId };
      const stream = await subscribe(url, { headers });
      await stream.waitForEnd(5000);
      received.push(...stream.events.map((e) => e.id ?? ''));
      lastEventId = stream.lastEventId;
      generations += 1;
    }
    stopPublishing.abort();
    await publisher;
    const last = await subscribe(url, { headers: { 'last-event-id': lastEventId ?? '' } });
    await last.waitFor(
      () => received.length + last.events.length >= published.length,
      5000,
      'the rest',
    );
    received.push(...last.events.map((e) => e.id ?? ''));
    last.close();

    expect(generations).toBeGreaterThanOrEqual(2);
    expect(received).toEqual(published);
  });
});

describe('drain', () => {
  it('closes open streams spread over the drain period and turns new streams away meanwhile', async () => {
    await using gw = await startGateway();
    const streams = await Promise.all(
      Array.from({ length: 10 }, () => subscribe(`${gw.publicUrl}/subscribe/drain`)),
    );
    const closedAt: number[] = [];
    const ends = streams.map((s) => s.waitForEnd(5000).then(() => closedAt.push(Date.now())));

    const draining = gw.gateway.drain(1000);
    expect((await request(`${gw.adminUrl}/readyz`)).status).toBe(503);
    const plain = await request(`${gw.publicUrl}/subscribe/drain`);
    expect([plain.status, errorCode(plain)]).toEqual([503, 'NOT_READY']);
    const eventSource = await SseStream.open(`${gw.publicUrl}/subscribe/drain`);
    await eventSource.waitForEnd();
    notReadyRetry(eventSource);
    // Streams not closed yet still get events.
    const id = await gw.publish('drain', 'still here');
    const stillOpen = streams.filter((s) => !s.ended);
    expect(stillOpen.length).toBeGreaterThan(0);

    await draining;
    await Promise.all(ends);
    expect(closedAt).toHaveLength(10);
    expect(Math.max(...closedAt) - Math.min(...closedAt)).toBeGreaterThanOrEqual(500);
    for (const s of streams) {
      expect(s.headers['connection']).toBe('close');
      expect(s.raw.endsWith('\n\n')).toBe(true);
    }
    for (const s of stillOpen)
      expect(s.events).toEqual([{ id, event: undefined, data: 'still here' }]);
    const metrics = await scrape(gw.adminUrl);
    expect(metrics.value('ssehub_connections')).toBe(0);
    expect(metrics.value('ssehub_connections_closed_total', { reason: 'shutdown' })).toBe(10);
  });
});
