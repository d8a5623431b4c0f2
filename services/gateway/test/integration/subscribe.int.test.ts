/**
 * Subscribing over HTTP (SPEC 2 and 3), against the real gateway over real sockets: both route
 * forms, the topic and pattern grammar as the routes apply it, the success head and opening
 * block, heartbeats, the not-ready answer and the order of refusals, and that a refused or
 * abandoned request leaves nothing behind.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  createGateway,
  type Authenticator,
  type BrokerSink,
  type Principal,
} from '../../src/index.js';
import { FakeBroker, fakeBrokerOf } from '../helpers/fake-broker.js';
import { BROKER_KINDS, startGateway, type GatewayFixture } from '../helpers/gateway-fixture.js';
import { GatewayProcess } from '../helpers/gateway-process.js';
import { errorOf, rawRequest, readOpening, type RawResponse } from '../helpers/http-client.js';
import { metricValue } from '../helpers/metrics.js';
import { subscribe, type SseStream } from '../helpers/sse-client.js';
import {
  EVENT_STREAM,
  NOT_READY_BODY,
  expectNotReadyAnswer,
  serve,
} from '../helpers/subscribe-http.js';
import { eventuallyEqual, sleep } from '../helpers/timing.js';

/** `: ok`, `retry:` and `id:` in one block (SPEC 3). */
const OPENING = /^: ok\nretry: (\d+)\nid: ([0-9A-Za-z._,:-]{1,256})\n\n/;

function openingOf(stream: SseStream): { retry: number; id: string } {
  const m = OPENING.exec(stream.raw);
  if (m === null)
    throw new Error(`no opening block at the start of: ${JSON.stringify(stream.raw)}`);
  return { retry: Number(m[1]), id: m[2] ?? '' };
}

function expectInvalidTopic(res: RawResponse, what: string): void {
  expect(res.status, what).toBe(400);
  expect(res.headers['content-type'], what).toMatch(/^application\/json/);
  const error = errorOf(res);
  expect(error.code, what).toBe('INVALID_TOPIC');
  expect(error.message.length, what).toBeGreaterThan(0);
  expect(Object.keys(JSON.parse(res.body) as object), what).toEqual(['error']);
}

function expectNotReady503(res: RawResponse): void {
  expect(res.status).toBe(503);
  expect(errorOf(res).code).toBe('NOT_READY');
}

let markers = 0;

/**
 * Publishes a marker event on `markerTopic` (which the stream must match), waits for it, and
 * returns the data of every event before it, markers of earlier calls left out.
 */
async function dataBefore(
  gw: GatewayFixture,
  stream: SseStream,
  markerTopic: string,
): Promise<string[]> {
  const marker = `marker-${++markers}`;
  await gw.publish(markerTopic, marker);
  await stream.waitFor(() => stream.events.some((e) => e.data === marker), 5000, marker);
  const data = stream.events.map((e) => e.data);
  return data.slice(0, data.indexOf(marker)).filter((d) => !d.startsWith('marker-'));
}

const seg = (n: number, c = 'a'): string => c.repeat(n);
const segments = (n: number): string => Array.from({ length: n }, (_, i) => `s${i}`).join('/');

/** Path topics that SPEC 2 and 3 refuse (sent raw, byte for byte). */
const INVALID_PATHS: readonly string[] = [
  '/subscribe/',
  '/subscribe//',
  '/subscribe///pets',
  '/subscribe/pets/',
  '/subscribe/pets//dogs',
  '/subscribe/*',
  '/subscribe/pets/*',
  '/subscribe/pets/**',
  '/subscribe/pets%2A',
  '/subscribe/pets%2F',
  '/subscribe/pets%2F%2Fdogs',
  '/subscribe/.',
  '/subscribe/..',
  '/subscribe/a/./b',
  '/subscribe/a/../b',
  '/subscribe/%2E%2E',
  '/subscribe/caf%C3%A9',
  '/subscribe/a%20b',
  '/subscribe/a+b',
  '/subscribe/a%3Fb',
  '/subscribe/a%23b',
  '/subscribe/a%00b',
  '/subscribe/a%ZZ',
  '/subscribe/a%E0%A4%A',
  `/subscribe/${seg(65)}`,
  `/subscribe/${segments(17)}`,
  `/subscribe/${seg(64)}/${seg(64)}/${seg(64)}/${seg(61)}`, // 256 bytes
];

/** Query patterns that SPEC 2 and 3 refuse. */
const INVALID_QUERIES: readonly string[] = [
  '/subscribe',
  '/subscribe?other=1',
  '/subscribe?topic=',
  '/subscribe?topic=%2F',
  '/subscribe?topic=%2F%2Fpets',
  '/subscribe?topic=pets%2F',
  '/subscribe?topic=pets%2F%2Fdogs',
  '/subscribe?topic=**%2Fpets',
  '/subscribe?topic=pets%2F**%2Fdogs',
  '/subscribe?topic=pets*',
  '/subscribe?topic=*pets',
  '/subscribe?topic=***',
  '/subscribe?topic=.',
  '/subscribe?topic=a%2F..%2Fb',
  '/subscribe?topic=a%20b',
  '/subscribe?topic=a+b',
  '/subscribe?topic=caf%C3%A9',
  '/subscribe?topic=a%ZZ',
  `/subscribe?topic=${seg(65)}`,
  `/subscribe?topic=${encodeURIComponent(segments(16))}%2F**`,
  `/subscribe?topic=${encodeURIComponent(`${seg(64)}/${seg(64)}/${seg(64)}/${seg(58)}/**`)}`, // 256 bytes
  '/subscribe?topic=pets&topic=pets%2F',
  '/subscribe?topic=pets&topic=',
];

describe.each(BROKER_KINDS)('subscribe routes (%s broker)', (brokerKind) => {
  describe('GET /subscribe/<topic>', () => {
    it('subscribes to <topic>/**: the topic and its descendants, nothing else, case-sensitive', async () => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
      for (const topic of [
        'pets',
        'pets/dogs',
        'petshop',
        'Pets',
        'PETS/dogs',
        'pet',
        'people/pets',
        'pets/dogs/puppies',
      ]) {
        await gw.publish(topic, topic);
      }
      expect(await dataBefore(gw, stream, 'pets/zz')).toEqual([
        'pets',
        'pets/dogs',
        'pets/dogs/puppies',
      ]);
      stream.close();
    });

    it('drops one leading "/" of the topic, sent as "//" or as %2F', async () => {
      await using gw = await startGateway({ brokerKind });
      const doubled = await subscribe(`${gw.publicUrl}/subscribe//pets/dogs`);
      const encoded = await subscribe(`${gw.publicUrl}/subscribe/%2Fpets/dogs`);
      await gw.publish('pets', 'parent');
      await gw.publish('pets/dogs/rex', 'child');
      expect(await dataBefore(gw, doubled, 'pets/dogs')).toEqual(['child']);
      expect(await dataBefore(gw, encoded, 'pets/dogs')).toEqual(['child']);
      doubled.close();
      encoded.close();
    });

    it('decodes percent-encoded characters of the path before checking the topic', async () => {
      await using gw = await startGateway({ brokerKind });
      const slash = await subscribe(`${gw.publicUrl}/subscribe/pets%2Fdogs`);
      const at = await subscribe(`${gw.publicUrl}/subscribe/user%40example.com`);
      const mixed = await subscribe(`${gw.publicUrl}/subscribe/a%7Cb%3Ac~d_e-f.g`);
      await gw.publish('pets/cats', 'cats');
      await gw.publish('pets/dogs/rex', 'rex');
      await gw.publish('user@example.com/inbox', 'mail');
      await gw.publish('a|b:c~d_e-f.g/x', 'mixed');
      expect(await dataBefore(gw, slash, 'pets/dogs')).toEqual(['rex']);
      expect(await dataBefore(gw, at, 'user@example.com')).toEqual(['mail']);
      expect(await dataBefore(gw, mixed, 'a|b:c~d_e-f.g')).toEqual(['mixed']);
      for (const s of [slash, at, mixed]) s.close();
    });

    it('accepts a topic at the limits: 16 segments, 64-character segments, 255 bytes', async () => {
      await using gw = await startGateway({ brokerKind });
      const sixteen = segments(16);
      const long = `${seg(64)}/${seg(64)}/${seg(64)}/${seg(60)}`;
      expect(long.length).toBe(255);
      const a = await subscribe(`${gw.publicUrl}/subscribe/${sixteen}`);
      const b = await subscribe(`${gw.publicUrl}/subscribe/${long}`);
      const idA = await gw.publish(sixteen, 'deep');
      const idB = await gw.publish(long, 'long');
      await a.waitForEvents(1);
      await b.waitForEvents(1);
      expect(a.events).toEqual([{ id: idA, event: undefined, data: 'deep' }]);
      expect(b.events).toEqual([{ id: idB, event: undefined, data: 'long' }]);
      a.close();
      b.close();
    });
  });

  describe('GET /subscribe?topic=<pattern>', () => {
    it('matches "*" as exactly one segment and "**" as every topic', async () => {
      await using gw = await startGateway({ brokerKind });
      const star = await subscribe(`${gw.publicUrl}/subscribe?topic=*`);
      const glob = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
      for (const topic of ['a', 'a/b', 'b', 'a/b/c']) await gw.publish(topic, topic);
      expect(await dataBefore(gw, star, 'z')).toEqual(['a', 'b']);
      expect(await dataBefore(gw, glob, 'z/z')).toEqual(['a', 'a/b', 'b', 'a/b/c']);
      star.close();
      glob.close();
    });

    it('matches a pattern without wildcards exactly, and "a/*/c" only with one segment in the middle', async () => {
      await using gw = await startGateway({ brokerKind });
      const exact = await subscribe(`${gw.publicUrl}/subscribe?topic=a/b`);
      const middle = await subscribe(`${gw.publicUrl}/subscribe?topic=a/*/c`);
      const leading = await subscribe(`${gw.publicUrl}/subscribe?topic=%2Fa%2Fb`);
      for (const topic of [
        'a',
        'a/b',
        'a/b/c',
        'a/c',
        'a/x/c',
        'a/x/y/c',
        'a/x/c/d',
        'A/b',
        'b/x/c',
      ]) {
        await gw.publish(topic, topic);
      }
      const marker = 'a/m/c';
      expect(await dataBefore(gw, middle, marker)).toEqual(['a/b/c', 'a/x/c']);
      expect(await dataBefore(gw, exact, 'a/b')).toEqual(['a/b']);
      expect(await dataBefore(gw, leading, 'a/b')).toEqual(['a/b']);
      for (const s of [exact, middle, leading]) s.close();
    });

    it('matches "pets/**" on pets itself and below, and "pets/*" on children only', async () => {
      await using gw = await startGateway({ brokerKind });
      const glob = await subscribe(`${gw.publicUrl}/subscribe?topic=pets/**`);
      const star = await subscribe(`${gw.publicUrl}/subscribe?topic=pets/*`);
      for (const topic of ['pets', 'pets/dogs', 'pets/dogs/puppies', 'petshop'])
        await gw.publish(topic, topic);
      expect(await dataBefore(gw, glob, 'pets/z')).toEqual([
        'pets',
        'pets/dogs',
        'pets/dogs/puppies',
      ]);
      expect(await dataBefore(gw, star, 'pets/y')).toEqual(['pets/dogs']);
      glob.close();
      star.close();
    });

    it('delivers an event matching several patterns once, with its id', async () => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(
        `${gw.publicUrl}/subscribe?topic=a/*/c&topic=a/**&topic=a/b/c&topic=**&topic=a/b/c&topic=*/b/*`,
      );
      const id = await gw.publish('a/b/c', 'once');
      const next = await gw.publish('q', 'next');
      await stream.waitForEvents(2);
      await sleep(50);
      expect(stream.events).toEqual([
        { id, event: undefined, data: 'once' },
        { id: next, event: undefined, data: 'next' },
      ]);
      stream.close();
    });

    it('accepts 32 patterns and refuses 33 with TOO_MANY_PATTERNS', async () => {
      await using gw = await startGateway({ brokerKind });
      const query = (n: number): string =>
        Array.from({ length: n }, (_, i) => `topic=p${i}/**`).join('&');
      const ok = await subscribe(`${gw.publicUrl}/subscribe?${query(32)}`);
      expect(await metricValue(gw.adminUrl, 'ssehub_subscriptions')).toBe(32);
      const id = await gw.publish('p31/x', 'last pattern');
      await ok.waitForEvents(1);
      expect(ok.events).toEqual([{ id, event: undefined, data: 'last pattern' }]);

      for (const headers of [{}, EVENT_STREAM]) {
        const refused = await rawRequest(gw.publicUrl, `/subscribe?${query(33)}`, { headers });
        expect(refused.status).toBe(400);
        expect(errorOf(refused).code).toBe('TOO_MANY_PATTERNS');
      }
      expect(
        await metricValue(gw.adminUrl, 'ssehub_connections_rejected_total', {
          code: 'TOO_MANY_PATTERNS',
        }),
      ).toBe(2);
      expect(await metricValue(gw.adminUrl, 'ssehub_subscriptions')).toBe(32);
      ok.close();
      await eventuallyEqual(() => metricValue(gw.adminUrl, 'ssehub_subscriptions'), 0);
    });
  });

  describe('invalid topics and patterns', () => {
    it('answers every invalid form with 400 INVALID_TOPIC as JSON, EventSource or not', async () => {
      await using gw = await startGateway({ brokerKind });
      for (const path of [...INVALID_PATHS, ...INVALID_QUERIES]) {
        expectInvalidTopic(await rawRequest(gw.publicUrl, path), path);
        expectInvalidTopic(
          await rawRequest(gw.publicUrl, path, { headers: EVENT_STREAM }),
          `${path} (EventSource)`,
        );
      }
      const total = 2 * (INVALID_PATHS.length + INVALID_QUERIES.length);
      expect(
        await metricValue(gw.adminUrl, 'ssehub_connections_rejected_total', {
          code: 'INVALID_TOPIC',
        }),
      ).toBe(total);
    });

    it('leaves no state behind: no connection, subscription, interest or limit slot', async () => {
      await using gw = await startGateway({
        brokerKind,
        maxConnections: 1,
        maxConnectionsPerIp: 1,
      });
      for (const path of [...INVALID_PATHS, ...INVALID_QUERIES]) {
        expect((await rawRequest(gw.publicUrl, path, { headers: EVENT_STREAM })).status, path).toBe(
          400,
        );
      }
      expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(0);
      expect(await metricValue(gw.adminUrl, 'ssehub_subscriptions')).toBe(0);
      if (gw.broker instanceof FakeBroker) expect(gw.broker.liveInterests).toBe(0);
      const stream = await subscribe(`${gw.publicUrl}/subscribe/after`);
      const id = await gw.publish('after', 'admitted');
      await stream.waitForEvents(1);
      expect(stream.events).toEqual([{ id, event: undefined, data: 'admitted' }]);
      expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(1);
      stream.close();
    });
  });

  describe('the success answer', () => {
    it('answers HEAD with the SSE head and no body, holding no stream', async () => {
      await using gw = await startGateway({ brokerKind });
      const res = await fetch(`${gw.publicUrl}/subscribe/pets`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(await res.text()).toBe('');
      expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(0);
      const bad = await fetch(`${gw.publicUrl}/subscribe/a*b`, { method: 'HEAD' });
      expect(bad.status).toBe(400);
    });

    it('has the SSE head and the opening block ": ok", retry and id as its first bytes', async () => {
      await using gw = await startGateway({ brokerKind });
      await gw.publish('x', 'one');
      const newest = await gw.publish('y', 'two');
      const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
      expect(stream.headers['x-accel-buffering']).toBe('no');
      expect(stream.headers['connection']).toBe('close');
      const { retry, id } = openingOf(stream);
      expect(retry).toBeGreaterThanOrEqual(2000);
      expect(retry).toBeLessThanOrEqual(3000);
      expect(id).toBe(newest);
      expect(stream.raw).toBe(`: ok\nretry: ${retry}\nid: ${newest}\n\n`);
      expect(stream.lastEventId).toBe(newest);
      stream.close();
    });

    it('streams to a client that sends no Accept header, and to Accept: */*', async () => {
      await using gw = await startGateway({ brokerKind });
      const newest = await gw.publish('plain', 'before');
      const variants: Record<string, string>[] = [{}, { accept: '*/*' }, { accept: 'text/plain' }];
      for (const headers of variants) {
        const res = await readOpening(gw.publicUrl, '/subscribe/plain', { headers });
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
        expect(res.body.replace(/^: ok\nretry: \d+\n/, ': ok\nretry: R\n')).toBe(
          `: ok\nretry: R\nid: ${newest}\n\n`,
        );
      }
    });

    it('gives each connection its own retry in 2000..3000 (jitter)', async () => {
      await using gw = await startGateway({ brokerKind });
      const streams = await Promise.all(
        Array.from({ length: 12 }, () => subscribe(`${gw.publicUrl}/subscribe/jitter`)),
      );
      const retries = streams.map((s) => openingOf(s).retry);
      for (const r of retries) {
        expect(r).toBeGreaterThanOrEqual(2000);
        expect(r).toBeLessThanOrEqual(3000);
      }
      expect(new Set(retries).size).toBeGreaterThan(1);
      for (const s of streams) s.close();
    });
  });

  describe('heartbeats', () => {
    it('sends ":" and the current position on an idle stream, advancing past events it does not match', async () => {
      await using gw = await startGateway({ brokerKind, heartbeatMs: 200 });
      const start = await gw.publish('elsewhere', 'before');
      const stream = await subscribe(`${gw.publicUrl}/subscribe/quiet`);
      expect(openingOf(stream).id).toBe(start);
      const beat = `:\nid: ${start}\n\n`;
      await stream.waitFor(() => stream.raw.includes(beat), 5000, 'a heartbeat');

      const moved = await gw.publish('elsewhere/deeper', 'not for this stream');
      const movedBeat = `:\nid: ${moved}\n\n`;
      await stream.waitFor(
        () => stream.raw.includes(movedBeat),
        5000,
        'a heartbeat with the new position',
      );
      expect(stream.events).toEqual([]);
      expect(stream.lastEventId).toBe(moved);
      const afterOpening = stream.raw.slice(OPENING.exec(stream.raw)?.[0].length);
      expect(afterOpening).toMatch(/^(:\nid: [0-9A-Za-z._,:-]+\n\n)+$/);
      // A reconnect with that id resumes with nothing to replay, and no reset.
      const resumed = await subscribe(`${gw.publicUrl}/subscribe/quiet`, {
        headers: { 'last-event-id': moved },
      });
      const next = await gw.publish('quiet', 'live');
      await resumed.waitForEvents(1);
      expect(resumed.events).toEqual([{ id: next, event: undefined, data: 'live' }]);
      stream.close();
      resumed.close();
    });
  });

  describe('not ready (503 NOT_READY, or the not-ready answer for an EventSource)', () => {
    it('turns every request away while draining, invalid ones included (503 comes before 400)', async () => {
      await using gw = await startGateway({ brokerKind });
      await gw.gateway.drain(0);
      for (const path of [
        '/subscribe/pets',
        '/subscribe/pets/*',
        '/subscribe?topic=**%2Fx',
        '/subscribe',
      ]) {
        const es = await rawRequest(gw.publicUrl, path, { headers: EVENT_STREAM });
        const retry = expectNotReadyAnswer(es);
        expect(retry).toBeGreaterThanOrEqual(1000);
        expect(retry).toBeLessThanOrEqual(5000);
        expectNotReady503(await rawRequest(gw.publicUrl, path));
        expectNotReady503(await rawRequest(gw.publicUrl, path, { headers: { accept: '*/*' } }));
        expectNotReady503(
          await rawRequest(gw.publicUrl, path, { headers: { accept: 'application/json' } }),
        );
      }
      expect(
        await metricValue(gw.adminUrl, 'ssehub_connections_rejected_total', { code: 'NOT_READY' }),
      ).toBe(16);
      expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(0);
    });

    it('recognises an EventSource by "text/event-stream" anywhere in Accept', async () => {
      await using gw = await startGateway({ brokerKind });
      await gw.gateway.drain(0);
      for (const accept of ['text/html, text/event-stream;q=0.9', 'TEXT/EVENT-STREAM']) {
        expectNotReadyAnswer(
          await rawRequest(gw.publicUrl, '/subscribe/x', { headers: { accept } }),
        );
      }
    });

    it('varies the retry of the not-ready answer (jitter) and closes the connection after it', async () => {
      await using gw = await startGateway({ brokerKind });
      await gw.gateway.drain(0);
      const retries: number[] = [];
      for (let i = 0; i < 10; i++) {
        retries.push(
          expectNotReadyAnswer(
            await rawRequest(gw.publicUrl, '/subscribe/x', { headers: EVENT_STREAM }),
          ),
        );
      }
      expect(new Set(retries).size).toBeGreaterThan(1);
    });

    it('closes open streams on drain and refuses new ones afterwards', async () => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(`${gw.publicUrl}/subscribe/open`);
      await gw.gateway.drain(0);
      await stream.waitForEnd();
      expectNotReadyAnswer(
        await rawRequest(gw.publicUrl, '/subscribe/open', { headers: EVENT_STREAM }),
      );
      await eventuallyEqual(() => metricValue(gw.adminUrl, 'ssehub_connections'), 0);
    });
  });
});

describe('not ready on broker trouble (fake broker)', () => {
  it('turns requests away while the broker is down, and admits them once it is back', async () => {
    await using gw = await startGateway({ brokerKind: 'fake' });
    const broker = fakeBrokerOf(gw);
    broker.goDown();
    const retry = expectNotReadyAnswer(
      await rawRequest(gw.publicUrl, '/subscribe/pets', { headers: EVENT_STREAM }),
    );
    expect(retry).toBeGreaterThanOrEqual(1000);
    expect(retry).toBeLessThanOrEqual(5000);
    expectNotReady503(await rawRequest(gw.publicUrl, '/subscribe/pets'));
    // 503 before 400.
    expectNotReady503(await rawRequest(gw.publicUrl, '/subscribe/pets/*'));
    expectNotReadyAnswer(
      await rawRequest(gw.publicUrl, '/subscribe/pets/*', { headers: EVENT_STREAM }),
    );
    expect(broker.liveInterests).toBe(0);

    broker.goUp();
    const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
    const id = await gw.publish('pets/dogs', 'back');
    await stream.waitForEvents(1);
    expect(stream.events).toEqual([{ id, event: undefined, data: 'back' }]);
    stream.close();
  });

  it('gives the not-ready answer when the history cannot be read to open a resume', async () => {
    await using gw = await startGateway({ brokerKind: 'fake', maxConnections: 1 });
    const broker = fakeBrokerOf(gw);
    const id = await gw.publish('resume', 'one');
    broker.failReads = true;
    const headers = { 'last-event-id': id };
    expectNotReadyAnswer(
      await rawRequest(gw.publicUrl, '/subscribe/resume', {
        headers: { ...EVENT_STREAM, ...headers },
      }),
    );
    expectNotReady503(await rawRequest(gw.publicUrl, '/subscribe/resume', { headers }));
    expect(broker.liveInterests).toBe(0);
    expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(0);
    expect(await metricValue(gw.adminUrl, 'ssehub_subscriptions')).toBe(0);
    broker.failReads = false;
    const stream = await subscribe(`${gw.publicUrl}/subscribe/resume`, { headers });
    const next = await gw.publish('resume', 'two');
    await stream.waitForEvents(1);
    expect(stream.events).toEqual([{ id: next, event: undefined, data: 'two' }]);
    stream.close();
  });

  it('is not ready while starting (the broker not reached yet), then ready', async () => {
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    class SlowStart extends FakeBroker {
      override async start(sink: BrokerSink): Promise<void> {
        await gate;
        await super.start(sink);
      }
    }
    const broker = new SlowStart({
      historySize: 100,
      historyTtlMs: 60_000,
      idempotencyTtlMs: 60_000,
    });
    const gateway = createGateway({ logLevel: 'silent', broker });
    const handler = gateway.callback();
    await using server = await serve((req, res) => void handler(req, res));
    try {
      expectNotReadyAnswer(
        await rawRequest(server.url, '/subscribe/boot', { headers: EVENT_STREAM }),
      );
      expectNotReady503(await rawRequest(server.url, '/subscribe/boot'));
      open();
      await gateway.ready();
      const stream = await subscribe(`${server.url}/subscribe/boot`);
      const id = await gateway.publish('boot', 'up');
      await stream.waitForEvents(1);
      expect(stream.events).toEqual([{ id, event: undefined, data: 'up' }]);
      stream.close();
    } finally {
      await gateway.close();
    }
  });
});

describe('requests abandoned before the stream starts', () => {
  /** Opens a subscribe request and destroys it after `afterMs`, before any answer. */
  async function abandon(url: string, afterMs: number): Promise<void> {
    const req = http.get(url, { headers: EVENT_STREAM, agent: false });
    req.on('error', () => undefined);
    let answered = false;
    req.on('response', () => {
      answered = true;
    });
    await sleep(afterMs);
    req.destroy();
    expect(answered).toBe(false);
  }

  it('leaves no interest, connection or slot when the client leaves during the confirmation', async () => {
    await using gw = await startGateway({ brokerKind: 'fake', maxConnections: 1 });
    const broker = fakeBrokerOf(gw);
    broker.confirmDelayMs = 300;
    await abandon(`${gw.publicUrl}/subscribe/gone`, 100);
    await sleep(400); // past the confirmation
    expect(broker.liveInterests).toBe(0);
    expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(0);
    expect(await metricValue(gw.adminUrl, 'ssehub_subscriptions')).toBe(0);
    broker.confirmDelayMs = 0;
    const stream = await subscribe(`${gw.publicUrl}/subscribe/gone`);
    expect(broker.liveInterests).toBe(1);
    const id = await gw.publish('gone', 'slot was free');
    await stream.waitForEvents(1);
    expect(stream.events).toEqual([{ id, event: undefined, data: 'slot was free' }]);
    stream.close();
    await eventuallyEqual(() => broker.liveInterests, 0);
  });

  it('leaves nothing when the client leaves while its token is being checked', async () => {
    const slowOpen: Authenticator = {
      isEnabled: false,
      authenticate: async (): Promise<Principal | undefined> => {
        await sleep(300);
        return undefined;
      },
      isPublic: () => true,
      maySubscribe: () => true,
      mayPublish: () => false,
    };
    const broker = new FakeBroker({
      historySize: 100,
      historyTtlMs: 60_000,
      idempotencyTtlMs: 60_000,
      confirmDelayMs: 0,
    });
    const gateway = createGateway({
      logLevel: 'silent',
      broker,
      authenticator: slowOpen,
      maxConnections: 1,
    });
    await gateway.ready();
    const handler = gateway.callback();
    const adminHandler = gateway.adminCallback();
    await using server = await serve((req, res) => void handler(req, res));
    await using admin = await serve((req, res) => void adminHandler(req, res));
    try {
      await abandon(`${server.url}/subscribe/gone`, 100);
      await sleep(500); // past the token check
      expect(broker.liveInterests).toBe(0);
      expect(await metricValue(admin.url, 'ssehub_connections')).toBe(0);
      expect(await metricValue(admin.url, 'ssehub_subscriptions')).toBe(0);
      const stream = await subscribe(`${server.url}/subscribe/gone`);
      stream.close();
      await eventuallyEqual(() => broker.liveInterests, 0);
    } finally {
      await gateway.close();
    }
  });
});

/** GETs `url` through `agent`; resolves with the status, connection header and whether the socket was reused. */
function get(url: string, agent: http.Agent, headers: Record<string, string> = {}) {
  return new Promise<{
    status: number;
    connection: string | undefined;
    reused: boolean;
    body: string;
  }>((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          reused: req.reusedSocket,
          body,
        });
      });
    });
    req.on('error', reject);
  });
}

describe('keep-alive', () => {
  it('keeps error answers on a reused connection, but closes after the not-ready answer', async () => {
    await using gw = await startGateway();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(`${gw.publicUrl}/subscribe/a/*`, agent);
      const second = await get(`${gw.publicUrl}/subscribe?topic=`, agent);
      expect([first.status, second.status]).toEqual([400, 400]);
      expect(first.connection).toBe('keep-alive');
      expect(second.reused).toBe(true);
      await gw.gateway.drain(0);
      const notReady = await get(`${gw.publicUrl}/subscribe/a`, agent, EVENT_STREAM);
      expect(notReady.status).toBe(200);
      expect(notReady.connection).toBe('close');
      expect(notReady.body).toMatch(NOT_READY_BODY);
      const after = await get(`${gw.publicUrl}/subscribe/a`, agent);
      expect(after.status).toBe(503);
      expect(after.reused).toBe(false);
    } finally {
      agent.destroy();
    }
  });
});

describe('an idle stream on the standalone server (STYLE A21)', () => {
  it('stays open and receives heartbeats well past the keep-alive timeout, then delivers', async () => {
    await using gw = await GatewayProcess.start({
      env: {
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        NODE_ENV: 'test',
        HEARTBEAT_MS: '200',
        KEEP_ALIVE_TIMEOUT_MS: '1000',
      },
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/idle`);
    expect(stream.headers['connection']).toBe('close');
    const { id } = openingOf(stream);
    expect((await get(`${gw.publicUrl}/subscribe/idle/*`, agent)).connection).toBe('keep-alive');
    await sleep(3500); // 3.5 keep-alive timeouts, about 17 heartbeat intervals
    // The keep-alive timeout was in force: the idle keep-alive socket was closed by the server...
    const later = await get(`${gw.publicUrl}/subscribe/idle/*`, agent);
    agent.destroy();
    expect(later.status).toBe(400);
    expect(later.reused).toBe(false);
    // ...while the stream, idle but for heartbeats, is still open.
    expect(stream.ended).toBe(false);
    const beats = stream.raw.split(`:\nid: ${id}\n\n`).length - 1;
    expect(beats).toBeGreaterThanOrEqual(5);
    const res = await fetch(`${gw.adminUrl}/publish/idle/x`, {
      method: 'POST',
      body: 'still here',
    });
    const { id: published } = (await res.json()) as { id: string };
    await stream.waitForEvents(1);
    expect(stream.events).toEqual([{ id: published, event: undefined, data: 'still here' }]);
    stream.close();
  });
});
