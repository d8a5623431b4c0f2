/**
 * Connection limits (SPEC 3 and 6), CORS on the public port (SPEC 6), and the gateway mounted
 * inside a host Koa app (SPEC 12), against the real gateway over real sockets.
 */
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { FakeBroker } from '../helpers/fake-broker.js';
import { BROKER_KINDS, startGateway, type GatewayFixture } from '../helpers/gateway-fixture.js';
import { errorOf, rawRequest, readOpening, type RawResponse } from '../helpers/http-client.js';
import { metricValue } from '../helpers/metrics.js';
import { subscribe, type SseStream } from '../helpers/sse-client.js';
import {
  EVENT_STREAM,
  NOT_READY_BODY,
  expectNotReadyAnswer,
  serve,
} from '../helpers/subscribe-http.js';
import { eventuallyEqual } from '../helpers/timing.js';

/** Asserts the not-ready answer for an EventSource over a limit, and returns its retry. */
function expectOverLimitAnswer(res: RawResponse): number {
  const retry = expectNotReadyAnswer(res);
  expect(retry).toBeGreaterThanOrEqual(5000);
  expect(retry).toBeLessThanOrEqual(10_000);
  return retry;
}

function expect429(res: RawResponse): void {
  expect(res.status).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(errorOf(res).code).toBe('TOO_MANY_CONNECTIONS');
}

async function rejected(gw: GatewayFixture, code: string): Promise<number | undefined> {
  return metricValue(gw.adminUrl, 'ssehub_connections_rejected_total', { code });
}

/** Waits until the gateway counts `n` open streams (closes are seen asynchronously). */
function connectionsReach(gw: GatewayFixture, n: number): Promise<void> {
  return eventuallyEqual(() => metricValue(gw.adminUrl, 'ssehub_connections'), n);
}

function closeAll(streams: readonly SseStream[]): void {
  for (const s of streams) s.close();
}

describe.each(BROKER_KINDS)('connection limits (%s broker)', (brokerKind) => {
  it('MAX_CONNECTIONS: an EventSource over it gets the not-ready answer, anything else 429', async () => {
    await using gw = await startGateway({ brokerKind, maxConnections: 2 });
    const open = [
      await subscribe(`${gw.publicUrl}/subscribe/a`),
      await subscribe(`${gw.publicUrl}/subscribe/b`),
    ];
    const retries = new Set<number>();
    for (let i = 0; i < 6; i++) {
      retries.add(
        expectOverLimitAnswer(
          await rawRequest(gw.publicUrl, '/subscribe/c', { headers: EVENT_STREAM }),
        ),
      );
    }
    expect(retries.size).toBeGreaterThan(1); // jitter
    expect429(await rawRequest(gw.publicUrl, '/subscribe/c'));
    expect429(await rawRequest(gw.publicUrl, '/subscribe/c', { headers: { accept: '*/*' } }));
    expect429(
      await rawRequest(gw.publicUrl, '/subscribe?topic=c', {
        headers: { accept: 'application/json' },
      }),
    );
    expect(await rejected(gw, 'TOO_MANY_CONNECTIONS')).toBe(9);
    expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(2);
    // The streams that were admitted are unaffected.
    const id = await gw.publish('a/x', 'still live');
    await open[0]?.waitForEvents(1);
    expect(open[0]?.events).toEqual([{ id, event: undefined, data: 'still live' }]);
    closeAll(open);
  });

  it('frees a slot when a stream closes, from either side', async () => {
    await using gw = await startGateway({
      brokerKind,
      maxConnections: 1,
      maxConnectionAgeMs: 1000,
      heartbeatMs: 200,
    });
    const first = await subscribe(`${gw.publicUrl}/subscribe/a`);
    expect429(await rawRequest(gw.publicUrl, '/subscribe/a'));
    first.close(); // the client leaves
    await connectionsReach(gw, 0);
    const second = await subscribe(`${gw.publicUrl}/subscribe/a`);
    expect429(await rawRequest(gw.publicUrl, '/subscribe/a'));
    await second.waitForEnd(); // the server closes it (MAX_CONNECTION_AGE_MS)
    await connectionsReach(gw, 0);
    const third = await subscribe(`${gw.publicUrl}/subscribe/a`);
    expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(1);
    third.close();
    await connectionsReach(gw, 0);
    expect(await metricValue(gw.adminUrl, 'ssehub_subscriptions')).toBe(0);
  });

  it('admits and frees slots over many open/close rounds without drifting', async () => {
    await using gw = await startGateway({ brokerKind, maxConnections: 3, maxConnectionsPerIp: 3 });
    for (let round = 0; round < 5; round++) {
      const streams = await Promise.all(
        [1, 2, 3].map(() => subscribe(`${gw.publicUrl}/subscribe/r`)),
      );
      expect429(await rawRequest(gw.publicUrl, '/subscribe/r'));
      closeAll(streams);
      await connectionsReach(gw, 0);
    }
    expect(await rejected(gw, 'TOO_MANY_CONNECTIONS')).toBe(5);
  });

  it('answers 400 before 429: an invalid request over the limit is INVALID_TOPIC or TOO_MANY_PATTERNS', async () => {
    await using gw = await startGateway({ brokerKind, maxConnections: 1 });
    const open = await subscribe(`${gw.publicUrl}/subscribe/a`);
    const tooMany = `/subscribe?${Array.from({ length: 33 }, (_, i) => `topic=t${i}`).join('&')}`;
    for (const headers of [{}, EVENT_STREAM]) {
      const invalid = await rawRequest(gw.publicUrl, '/subscribe/a/*', { headers });
      expect(invalid.status).toBe(400);
      expect(errorOf(invalid).code).toBe('INVALID_TOPIC');
      const many = await rawRequest(gw.publicUrl, tooMany, { headers });
      expect(many.status).toBe(400);
      expect(errorOf(many).code).toBe('TOO_MANY_PATTERNS');
    }
    expect(await rejected(gw, 'TOO_MANY_CONNECTIONS')).toBeUndefined();
    open.close();
  });

  it('MAX_CONNECTIONS_PER_IP with TRUST_PROXY=1 counts each forwarded client address', async () => {
    await using gw = await startGateway({ brokerKind, maxConnectionsPerIp: 2, trustProxy: 1 });
    const from = (xff: string) => ({ 'x-forwarded-for': xff });
    const a = [
      await subscribe(`${gw.publicUrl}/subscribe/a`, { headers: from('203.0.113.1') }),
      await subscribe(`${gw.publicUrl}/subscribe/a`, { headers: from('203.0.113.1') }),
    ];
    expect429(await rawRequest(gw.publicUrl, '/subscribe/a', { headers: from('203.0.113.1') }));
    // One trusted hop: the rightmost entry is what the proxy saw; anything left of it is the client's claim.
    expect429(
      await rawRequest(gw.publicUrl, '/subscribe/a', {
        headers: from('198.51.100.9, 203.0.113.1'),
      }),
    );
    expectOverLimitAnswer(
      await rawRequest(gw.publicUrl, '/subscribe/a', {
        headers: { ...EVENT_STREAM, ...from('203.0.113.1') },
      }),
    );
    const b = await subscribe(`${gw.publicUrl}/subscribe/a`, { headers: from('203.0.113.2') });
    const c = await subscribe(`${gw.publicUrl}/subscribe/a`, {
      headers: from('203.0.113.1, 203.0.113.3'),
    });
    expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(4);
    a[0]?.close();
    await connectionsReach(gw, 3);
    const again = await subscribe(`${gw.publicUrl}/subscribe/a`, { headers: from('203.0.113.1') });
    closeAll([...a, b, c, again]);
  });

  it('MAX_CONNECTIONS_PER_IP with TRUST_PROXY=0 ignores X-Forwarded-For', async () => {
    await using gw = await startGateway({ brokerKind, maxConnectionsPerIp: 1, trustProxy: 0 });
    const first = await subscribe(`${gw.publicUrl}/subscribe/a`, {
      headers: { 'x-forwarded-for': '203.0.113.1' },
    });
    expect429(
      await rawRequest(gw.publicUrl, '/subscribe/a', {
        headers: { 'x-forwarded-for': '203.0.113.2' },
      }),
    );
    expect429(await rawRequest(gw.publicUrl, '/subscribe/a'));
    first.close();
    await connectionsReach(gw, 0);
    const second = await subscribe(`${gw.publicUrl}/subscribe/a`, {
      headers: { 'x-forwarded-for': '203.0.113.1' },
    });
    second.close();
  });

  it('TRUST_PROXY=2 takes the client from two hops in from the right', async () => {
    await using gw = await startGateway({ brokerKind, maxConnectionsPerIp: 1, trustProxy: 2 });
    const first = await subscribe(`${gw.publicUrl}/subscribe/a`, {
      headers: { 'x-forwarded-for': '192.0.2.50, 203.0.113.9, 10.0.0.1' },
    });
    // Same client through another balancer node, and with a different spoofed leftmost entry.
    expect429(
      await rawRequest(gw.publicUrl, '/subscribe/a', {
        headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.2' },
      }),
    );
    expect429(
      await rawRequest(gw.publicUrl, '/subscribe/a', {
        headers: { 'x-forwarded-for': '1.2.3.4, 203.0.113.9, 10.0.0.1' },
      }),
    );
    const other = await subscribe(`${gw.publicUrl}/subscribe/a`, {
      headers: { 'x-forwarded-for': '203.0.113.8, 10.0.0.1' },
    });
    closeAll([first, other]);
  });
});

describe('503 before 429 (fake broker)', () => {
  it('gives the not-ready answer (retry 1000..5000) and 503, not 429, while the broker is down at the limit', async () => {
    await using gw = await startGateway({ brokerKind: 'fake', maxConnections: 1 });
    if (!(gw.broker instanceof FakeBroker)) throw new Error('needs the fake broker');
    const open = await subscribe(`${gw.publicUrl}/subscribe/a`);
    expect429(await rawRequest(gw.publicUrl, '/subscribe/a'));
    gw.broker.goDown(); // open streams stay open, so the limit still holds
    const es = await rawRequest(gw.publicUrl, '/subscribe/a', { headers: EVENT_STREAM });
    expect(es.status).toBe(200);
    const retry = Number(NOT_READY_BODY.exec(es.body)?.[1]);
    expect(retry).toBeGreaterThanOrEqual(1000);
    expect(retry).toBeLessThanOrEqual(5000);
    const plain = await rawRequest(gw.publicUrl, '/subscribe/a');
    expect(plain.status).toBe(503);
    expect(errorOf(plain).code).toBe('NOT_READY');
    expect(open.ended).toBe(false);
    expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(1);
    gw.broker.goUp();
    expect429(await rawRequest(gw.publicUrl, '/subscribe/a'));
    open.close();
  });
});

describe('CORS', () => {
  const ORIGIN = 'https://app.example.com';

  it('with auth off and no CORS_ORIGINS, allows any origin without credentials, on streams and errors', async () => {
    await using gw = await startGateway();
    const stream = await subscribe(`${gw.publicUrl}/subscribe/a`, { headers: { origin: ORIGIN } });
    expect(stream.headers['access-control-allow-origin']).toBe('*');
    expect(stream.headers['vary']).toBe('Origin');
    expect(stream.headers['access-control-allow-credentials']).toBeUndefined();
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    stream.close();

    const invalid = await rawRequest(gw.publicUrl, '/subscribe/a/*', {
      headers: { origin: 'http://other.test:8000' },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.headers['access-control-allow-origin']).toBe('*');
    expect(invalid.headers['vary']).toBe('Origin');
    expect(invalid.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('carries CORS headers on 429 and on the not-ready answer too', async () => {
    await using gw = await startGateway({ maxConnections: 1 });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/a`);
    const over = await rawRequest(gw.publicUrl, '/subscribe/a', { headers: { origin: ORIGIN } });
    expect(over.status).toBe(429);
    expect(over.headers['access-control-allow-origin']).toBe('*');
    const overEs = await rawRequest(gw.publicUrl, '/subscribe/a', {
      headers: { origin: ORIGIN, ...EVENT_STREAM },
    });
    expectOverLimitAnswer(overEs);
    expect(overEs.headers['access-control-allow-origin']).toBe('*');
    expect(overEs.headers['vary']).toBe('Origin');
    stream.close();
  });

  it('answers a preflight with 204 and the allowed methods, headers and max age', async () => {
    await using gw = await startGateway();
    const res = await rawRequest(gw.publicUrl, '/subscribe/x', {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'last-event-id',
      },
    });
    expect(res.status).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS');
    expect(res.headers['access-control-allow-headers']).toBe(
      'Last-Event-ID, Authorization, Cache-Control, Content-Type, Idempotency-Key',
    );
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers['vary']).toBe('Origin');
  });

  describe('with CORS_ORIGINS listing origins', () => {
    const settings = { corsOrigins: [ORIGIN, 'http://localhost:3000'] };

    it('echoes a listed origin with credentials allowed, on streams and errors', async () => {
      await using gw = await startGateway(settings);
      for (const origin of [ORIGIN, 'http://localhost:3000']) {
        const stream = await subscribe(`${gw.publicUrl}/subscribe/a`, { headers: { origin } });
        expect(stream.headers['access-control-allow-origin']).toBe(origin);
        expect(stream.headers['access-control-allow-credentials']).toBe('true');
        expect(stream.headers['vary']).toBe('Origin');
        stream.close();
      }
      const invalid = await rawRequest(gw.publicUrl, '/subscribe?topic=', {
        headers: { origin: ORIGIN },
      });
      expect(invalid.status).toBe(400);
      expect(invalid.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(invalid.headers['access-control-allow-credentials']).toBe('true');
    });

    it('gives a non-listed origin no CORS headers, but still serves the request', async () => {
      await using gw = await startGateway(settings);
      for (const origin of [
        'https://evil.example',
        'https://app.example.com.evil.example',
        'http://app.example.com',
        'null',
      ]) {
        const opening = await readOpening(gw.publicUrl, '/subscribe/a', {
          headers: { origin, ...EVENT_STREAM },
        });
        expect(opening.status, origin).toBe(200);
        expect(opening.body.startsWith(': ok\n'), origin).toBe(true);
        expect(opening.headers['access-control-allow-origin'], origin).toBeUndefined();
        expect(opening.headers['access-control-allow-credentials'], origin).toBeUndefined();
        const invalid = await rawRequest(gw.publicUrl, '/subscribe/a/*', { headers: { origin } });
        expect(invalid.status, origin).toBe(400);
        expect(invalid.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
    });

    it('answers preflights: allowed for a listed origin, without CORS headers for another', async () => {
      await using gw = await startGateway(settings);
      const preflight = (origin: string) =>
        rawRequest(gw.publicUrl, '/subscribe/x', {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'GET' },
        });
      const allowed = await preflight(ORIGIN);
      expect(allowed.status).toBe(204);
      expect(allowed.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(allowed.headers['access-control-allow-credentials']).toBe('true');
      expect(allowed.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS');
      expect(allowed.headers['access-control-allow-headers']).toBe(
        'Last-Event-ID, Authorization, Cache-Control, Content-Type, Idempotency-Key',
      );
      expect(allowed.headers['access-control-max-age']).toBe('600');
      expect(allowed.headers['vary']).toBe('Origin');

      const other = await preflight('https://evil.example');
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      expect(other.headers['access-control-allow-methods']).toBeUndefined();
      expect(other.headers['access-control-allow-headers']).toBeUndefined();
    });
  });
});

describe('library use: gateway.middleware() inside a host Koa app (SPEC 12)', () => {
  function hostApp(gw: GatewayFixture, prefix: string | undefined): Koa {
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.path === '/hello') {
        ctx.body = 'hello from the host';
        return;
      }
      await next();
    });
    app.use(gw.gateway.middleware(prefix === undefined ? undefined : { prefix }));
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = `host 404 for ${ctx.path}`;
    });
    return app;
  }

  it('serves /<prefix>/subscribe/<topic> while the host keeps its other routes', async () => {
    await using gw = await startGateway();
    const app = hostApp(gw, '/events');
    const handler = app.callback();
    await using host = await serve((req, res) => void handler(req, res));

    const stream = await subscribe(`${host.url}/events/subscribe/pets`);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['connection']).toBe('close');
    const id = await gw.publish('pets/dogs', 'through the host');
    await stream.waitForEvents(1);
    expect(stream.events).toEqual([{ id, event: undefined, data: 'through the host' }]);
    const query = await subscribe(`${host.url}/events/subscribe?topic=pets/*`);
    const second = await gw.publish('pets/cats', 'query form');
    await query.waitForEvents(1);
    expect(query.events).toEqual([{ id: second, event: undefined, data: 'query form' }]);

    const hello = await rawRequest(host.url, '/hello');
    expect(hello.status).toBe(200);
    expect(hello.body).toBe('hello from the host');
    for (const path of ['/events/other', '/subscribe/pets', '/eventsx/subscribe/pets', '/events']) {
      const res = await rawRequest(host.url, path, { headers: EVENT_STREAM });
      expect(res.status, path).toBe(404);
      expect(res.body, path).toBe(`host 404 for ${path}`);
    }
    const invalid = await rawRequest(host.url, '/events/subscribe/pets/*');
    expect(invalid.status).toBe(400);
    expect(errorOf(invalid).code).toBe('INVALID_TOPIC');
    expect(invalid.headers['access-control-allow-origin']).toBeUndefined();
    stream.close();
    query.close();
    await connectionsReach(gw, 0);
  });

  it('serves /subscribe/<topic> at the root without a prefix', async () => {
    await using gw = await startGateway();
    const handler = hostApp(gw, undefined).callback();
    await using host = await serve((req, res) => void handler(req, res));
    const stream = await subscribe(`${host.url}/subscribe/pets`);
    const id = await gw.publish('pets', 'root');
    await stream.waitForEvents(1);
    expect(stream.events).toEqual([{ id, event: undefined, data: 'root' }]);
    expect((await rawRequest(host.url, '/hello')).body).toBe('hello from the host');
    expect((await rawRequest(host.url, '/nope')).body).toBe('host 404 for /nope');
    stream.close();
  });
});
