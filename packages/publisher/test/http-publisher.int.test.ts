import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_BATCH_EVENTS,
  PublisherError,
  createHttpPublisher,
  type HttpPublisherOptions,
  type Publisher,
} from '../src/index.js';
import { FakeGateway } from './helpers/fake-gateway.js';

let gateway: FakeGateway;
const publishers: Publisher[] = [];

function open(options: Partial<HttpPublisherOptions> = {}): Publisher {
  const p = createHttpPublisher({ url: gateway.url, ...options });
  publishers.push(p);
  return p;
}

async function rejection(promise: Promise<unknown>): Promise<PublisherError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(PublisherError);
    return err as PublisherError;
  }
  throw new Error('expected a rejection');
}

function answer(res: ServerResponse, status: number, body: unknown): true {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
  return true;
}

beforeEach(async () => {
  gateway = await FakeGateway.start();
});

afterEach(async () => {
  await Promise.all(publishers.splice(0).map((p) => p.close()));
  await gateway.close();
});

describe('publish', () => {
  it('posts {topic, event, data} with the token and Idempotency-Key, and resolves the id', async () => {
    const p = open({ token: 'admin-secret' });
    gateway.token = 'admin-secret';
    const id = await p.publish(
      '/pets/dogs',
      { name: 'Rex' },
      { event: 'added', idempotencyKey: 'k-1' },
    );
    expect(id).toBe('e1.0.1');
    expect(gateway.requests).toHaveLength(1);
    const [req] = gateway.requests;
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/publish');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers.authorization).toBe('Bearer admin-secret');
    expect(req!.headers['idempotency-key']).toBe('k-1');
    // The data is serialized once, here, and sent as the JSON text the gateway stores verbatim.
    expect(JSON.parse(req!.body)).toEqual({
      topic: 'pets/dogs',
      event: 'added',
      data: '{"name":"Rex"}',
    });
  });

  it('sends strings verbatim, leaves out a missing event name, and sends no auth header without a token', async () => {
    const p = open();
    await p.publish('news', ' raw\ntext ');
    const [req] = gateway.requests;
    expect(JSON.parse(req!.body)).toEqual({ topic: 'news', data: ' raw\ntext ' });
    expect(req!.headers.authorization).toBeUndefined();
    expect(req!.headers['idempotency-key']).toBeUndefined();
  });

  it('keeps a path in the base URL', async () => {
    const p = open({ url: `${gateway.url}/ssehub/` });
    gateway.override = (req, res) =>
      req.url === '/ssehub/publish' ? answer(res, 200, { id: 'x1' }) : false;
    expect(await p.publish('a', 1)).toBe('x1');
  });

  it('resolves a repeat with the same idempotency key to the first id', async () => {
    const p = open();
    const first = await p.publish('orders/1', 'paid', { idempotencyKey: 'order-1-paid' });
    const again = await p.publish('orders/1', 'paid', { idempotencyKey: 'order-1-paid' });
    expect(again).toBe(first);
    const err = await rejection(
      p.publish('orders/1', 'refunded', { idempotencyKey: 'order-1-paid' }),
    );
    expect(err.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(err.message).toMatch(/use a new key/);
  });
});

describe('publishMany', () => {
  it('posts {events: [...]} with per-event keys and resolves the ids in order', async () => {
    const p = open();
    const ids = await p.publishMany([
      { topic: 'prices/eur', data: { bid: 1.08 }, event: 'tick', idempotencyKey: 'k-eur' },
      { topic: '/prices/usd', data: 'one' },
    ]);
    expect(ids).toEqual(['e1.0.1', 'e1.0.2']);
    const [req] = gateway.requests;
    expect(req!.headers['idempotency-key']).toBeUndefined();
    expect(JSON.parse(req!.body)).toEqual({
      events: [
        { topic: 'prices/eur', event: 'tick', data: '{"bid":1.08}', idempotencyKey: 'k-eur' },
        { topic: 'prices/usd', data: 'one' },
      ],
    });
  });

  it('sends nothing for an empty batch', async () => {
    expect(await open().publishMany([])).toEqual([]);
    expect(gateway.requests).toHaveLength(0);
  });

  it('keeps the ids of a partly stored batch on the error', async () => {
    gateway.override = (_req, res) =>
      answer(res, 503, {
        error: { code: 'BROKER_UNAVAILABLE', message: 'Shard 1 is unavailable.' },
        ids: ['e1.0.7', null],
      });
    const err = await rejection(
      open().publishMany([
        { topic: 'a', data: 1 },
        { topic: 'b', data: 2 },
      ]),
    );
    expect(err.code).toBe('BROKER_UNAVAILABLE');
    expect(err.ids).toEqual(['e1.0.7', null]);
    expect(err.message).toMatch(/retry only those/);
  });
});

describe('validation before any request', () => {
  it.each([
    ['INVALID_TOPIC', () => open().publish('pets/*', 'x')],
    ['INVALID_TOPIC', () => open().publish('pets/', 'x')],
    ['INVALID_EVENT_NAME', () => open().publish('pets', 'x', { event: 'error' })],
    ['INVALID_DATA', () => open().publish('pets', undefined)],
    ['INVALID_DATA', () => open().publish('pets', '\uD800')],
    ['INVALID_OPTIONS', () => open().publish('pets', 'x', { idempotencyKey: 'has space' })],
    [
      'INVALID_TOPIC',
      () =>
        open().publishMany([
          { topic: 'ok', data: 1 },
          { topic: 'bad//topic', data: 2 },
        ]),
    ],
    [
      'BATCH_TOO_LARGE',
      () =>
        open().publishMany(
          Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => ({ topic: 't', data: i })),
        ),
    ],
  ] as const)('%s', async (code, run) => {
    const err = await rejection(run());
    expect(err.code).toBe(code);
    expect(gateway.requests).toHaveLength(0);
  });

  it('refuses bad options at creation', () => {
    const bad: Partial<HttpPublisherOptions>[] = [
      { url: 'not a url' },
      { url: 'ftp://gateway:9090' },
      { url: 'http://gateway:9090/?x=1' },
      { token: '' },
      { token: 'two words' },
      { timeoutMs: 0 },
      { timeoutMs: 1.5 },
    ];
    for (const options of bad) {
      expect(() => createHttpPublisher({ url: gateway.url, ...options })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }) as Error,
      );
    }
  });
});

describe('error mapping', () => {
  it.each([
    [400, 'INVALID_TOPIC', 'INVALID_TOPIC'],
    [400, 'INVALID_EVENT_NAME', 'INVALID_EVENT_NAME'],
    [400, 'INVALID_BODY', 'INVALID_BODY'],
    [401, 'UNAUTHORIZED', 'UNAUTHORIZED'],
    [403, 'FORBIDDEN', 'FORBIDDEN'],
    [409, 'IDEMPOTENCY_CONFLICT', 'IDEMPOTENCY_CONFLICT'],
    [413, 'EVENT_TOO_LARGE', 'EVENT_TOO_LARGE'],
    [413, 'BATCH_TOO_LARGE', 'BATCH_TOO_LARGE'],
    [413, 'BODY_TOO_LARGE', 'BODY_TOO_LARGE'],
    [415, 'UNSUPPORTED_MEDIA_TYPE', 'UNSUPPORTED_MEDIA_TYPE'],
    [503, 'BROKER_UNAVAILABLE', 'BROKER_UNAVAILABLE'],
    [503, 'NOT_READY', 'BROKER_UNAVAILABLE'],
    [404, 'NOT_FOUND', 'UNEXPECTED_RESPONSE'],
    [500, 'INTERNAL', 'UNEXPECTED_RESPONSE'],
  ] as const)('%i %s -> %s', async (status, gatewayCode, code) => {
    gateway.override = (_req, res) =>
      answer(res, status, {
        error: { code: gatewayCode, message: `Gateway says ${gatewayCode}.` },
      });
    const err = await rejection(open().publish('pets', 'x'));
    expect(err.code).toBe(code);
    if (code !== 'UNEXPECTED_RESPONSE')
      expect(err.message).toContain(`Gateway says ${gatewayCode}.`);
    expect(err.ids).toBeUndefined();
  });

  it('maps 401 and 403 by status, whatever the body', async () => {
    gateway.token = 'right';
    expect((await rejection(open({ token: 'wrong' }).publish('a', 1))).code).toBe('UNAUTHORIZED');
    gateway.override = (_req, res) => answer(res, 403, '<html>Forbidden</html>');
    expect((await rejection(open().publish('a', 1))).code).toBe('FORBIDDEN');
  });

  it('treats a 200 that is not a publish answer, or a proxy page, as UNEXPECTED_RESPONSE', async () => {
    gateway.override = (_req, res) => answer(res, 200, '<html>hello</html>');
    expect((await rejection(open().publish('a', 1))).code).toBe('UNEXPECTED_RESPONSE');
    gateway.override = (_req, res) => answer(res, 502, 'Bad Gateway');
    const err = await rejection(open().publish('a', 1));
    expect(err.code).toBe('UNEXPECTED_RESPONSE');
    expect(err.message).toMatch(/502/);
  });

  it('rejects with BROKER_UNAVAILABLE when the gateway cannot be reached', async () => {
    const url = gateway.url;
    await gateway.close();
    const p = createHttpPublisher({ url });
    publishers.push(p);
    const err = await rejection(p.publish('a', 1));
    expect(err.code).toBe('BROKER_UNAVAILABLE');
    expect(err.message).toContain(url);
    gateway = await FakeGateway.start();
  });

  it('rejects with TIMEOUT when the gateway does not answer within timeoutMs', async () => {
    gateway.override = () => true; // never answers
    const p = open({ timeoutMs: 150 });
    const started = Date.now();
    const err = await rejection(p.publish('a', 1, { idempotencyKey: 'k' }));
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/150 ms.*same idempotency key/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('times out a body that stops halfway too', async () => {
    gateway.override = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"id":');
      return true;
    };
    expect((await rejection(open({ timeoutMs: 150 }).publish('a', 1))).code).toBe('TIMEOUT');
  });
});

describe('connections', () => {
  it('reuses one keep-alive connection for consecutive requests, error answers included', async () => {
    const p = open();
    await p.publish('a', 1);
    await p.publish('a', 2);
    await p.publishMany([{ topic: 'b', data: 3 }]);
    await rejection(
      p
        .publish('c', 4, { idempotencyKey: 'k' })
        .then(() => p.publish('c', 5, { idempotencyKey: 'k' })),
    );
    await p.publish('a', 6);
    expect(gateway.requests).toHaveLength(6);
    expect(new Set(gateway.requests.map((r) => r.socketId))).toEqual(new Set([1]));
    expect(gateway.connections).toBe(1);
  });
});

describe('close', () => {
  it('waits for requests in flight, then rejects publishes with CLOSED', async () => {
    let release = (): void => undefined;
    gateway.override = (_req, res) => {
      release = () => answer(res, 200, { id: 'late' });
      return true;
    };
    const p = open();
    const inFlight = p.publish('a', 1);
    await expect.poll(() => gateway.requests.length).toBe(1);
    let closed = false;
    const closing = p.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    release();
    expect(await inFlight).toBe('late');
    await closing;
    expect(closed).toBe(true);
    expect((await rejection(p.publish('a', 2))).code).toBe('CLOSED');
    expect((await rejection(p.publishMany([{ topic: 'a', data: 2 }]))).code).toBe('CLOSED');
    await p.close(); // safe twice
    expect(gateway.requests).toHaveLength(1);
  });
});

describe('circuit breaker', () => {
  it('opens after failures, fails fast without a request, and ignores 4xx answers', async () => {
    const states: string[] = [];
    const p = open({
      breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
      onStateChange: (s) => states.push(s),
    });
    gateway.override = (_req, res) =>
      answer(res, 400, { error: { code: 'INVALID_BODY', message: 'no' } });
    for (let i = 0; i < 3; i++) await rejection(p.publish('a', i));
    expect(p.state).toBe('closed');
    gateway.override = (_req, res) =>
      answer(res, 503, { error: { code: 'BROKER_UNAVAILABLE', message: 'Redis is down.' } });
    for (let i = 0; i < 5 && p.state === 'closed'; i++) await rejection(p.publish('a', i));
    expect(p.state).toBe('open');
    expect(states).toEqual(['open']);
    const sent = gateway.requests.length;
    const err = await rejection(p.publish('a', 'fast'));
    expect(err.code).toBe('BROKER_UNAVAILABLE');
    expect(err.message).toMatch(/circuit breaker is open/);
    expect(gateway.requests).toHaveLength(sent);
  });
});
