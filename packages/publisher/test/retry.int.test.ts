import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { streamKey } from '@ssehub/protocol';
import { createHttpPublisher, createPublisher, PublisherError } from '../src/index.js';
import { RedisServer } from '@ssehub/local-redis';

let server: RedisServer;

beforeAll(async () => {
  // Its own Redis: the outage test kills it.
  server = await RedisServer.start();
});

afterAll(async () => {
  await server.stop();
});

function prefix(): string {
  return `retry-${randomUUID().slice(0, 8)}`;
}

async function entries(url: string, p: string): Promise<string[]> {
  const admin = new Redis(url);
  try {
    const rows = await admin.xrange(streamKey({ prefix: p, shardCount: 1 }, 0), '-', '+');
    return rows.map(([, fields]) => fields.join(' '));
  } finally {
    admin.disconnect();
  }
}

async function failure(promise: Promise<unknown>): Promise<PublisherError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PublisherError);
  return err as PublisherError;
}

it('refuses a retry window that could outlive the idempotency keys', () => {
  for (const retry of [
    { attempts: 150, maxDelayMs: 2000 },
    { attempts: -1 },
    { attempts: 1, baseDelayMs: 0 },
    { attempts: 1, baseDelayMs: 500, maxDelayMs: 100 },
  ]) {
    expect(() => createPublisher({ redis: server.url, retry })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }) as Error,
    );
    expect(() => createHttpPublisher({ url: 'http://127.0.0.1:1', retry })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }) as Error,
    );
  }
});

it('a publish during a short outage succeeds once Redis is back, stored once', async () => {
  const p0 = prefix();
  const p = createPublisher({
    redis: server.url,
    prefix: p0,
    settings: {},
    commandTimeoutMs: 500,
    retry: { attempts: 8, baseDelayMs: 100, maxDelayMs: 400 },
  });
  try {
    await p.publish('a', 'before');
    await server.kill();
    const pending = p.publish('a', 'during', { event: 'x' });
    await new Promise((r) => setTimeout(r, 300));
    await server.restart();
    const id = await pending;
    expect(id).toMatch(/^\S+$/);
    // The restart lost the data: only the retried event is there, once.
    const rows = await entries(server.url, p0);
    expect(rows.filter((r) => r.includes('during'))).toHaveLength(1);
  } finally {
    await p.close();
  }
});

it('retries a TIMEOUT with the same generated key, so the event is stored once', async () => {
  const p0 = prefix();
  const admin = new Redis(server.url);
  const p = createPublisher({
    redis: server.url,
    prefix: p0,
    settings: {},
    commandTimeoutMs: 200,
    retry: { attempts: 10, baseDelayMs: 100, maxDelayMs: 300 },
  });
  try {
    await p.publish('a', 'warm up');
    // Writes wait 700 ms: the first attempt times out, but Redis runs its script afterwards.
    await admin.call('CLIENT', 'PAUSE', '700', 'WRITE');
    const id = await p.publish('a', 'slow');
    expect(id).toMatch(/^\S+$/);
    const rows = await entries(server.url, p0);
    expect(rows.filter((r) => r.includes('slow'))).toHaveLength(1);
    // The generated key is stored with the deployment's TTL.
    const keys = await admin.keys(`${p0}:*idem*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(await admin.pttl(k)).toBeGreaterThan(0);
  } finally {
    await admin.call('CLIENT', 'UNPAUSE');
    admin.disconnect();
    await p.close();
  }
});

it('never retries IDEMPOTENCY_CONFLICT or validation errors', async () => {
  const p0 = prefix();
  let calls = 0;
  const p = createPublisher({
    redis: server.url,
    prefix: p0,
    settings: {},
    retry: { attempts: 5 },
  });
  const http = createHttpPublisher({
    url: 'http://127.0.0.1:1',
    retry: { attempts: 5 },
    fetch: () => {
      calls++;
      return Promise.resolve(
        new Response(JSON.stringify({ error: { code: 'IDEMPOTENCY_CONFLICT', message: 'used' } }), {
          status: 409,
          headers: { 'content-type': 'application/json' },
        }),
      );
    },
  });
  try {
    await p.publish('a', 'one', { idempotencyKey: 'k1' });
    const started = performance.now();
    expect((await failure(p.publish('a', 'two', { idempotencyKey: 'k1' }))).code).toBe(
      'IDEMPOTENCY_CONFLICT',
    );
    expect((await failure(p.publish('bad//topic', 'x'))).code).toBe('INVALID_TOPIC');
    expect(performance.now() - started).toBeLessThan(1000);
    expect((await failure(http.publish('a', 'x'))).code).toBe('IDEMPOTENCY_CONFLICT');
    expect(calls).toBe(1);
  } finally {
    await p.close();
    await http.close();
  }
});

it('retries the HTTP publisher on 503 with one generated key, and attempts 0 does not retry', async () => {
  const seen: (string | null)[] = [];
  const flaky = (): typeof fetch => {
    let n = 0;
    return (_url, init) => {
      seen.push(new Headers(init?.headers).get('idempotency-key'));
      n++;
      const ok = n >= 3;
      return Promise.resolve(
        new Response(
          JSON.stringify(
            ok
              ? { ok: true, id: 'e.0.1' }
              : { error: { code: 'BROKER_UNAVAILABLE', message: 'down' } },
          ),
          { status: ok ? 200 : 503, headers: { 'content-type': 'application/json' } },
        ),
      );
    };
  };
  const retrying = createHttpPublisher({
    url: 'http://127.0.0.1:1',
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
    fetch: flaky(),
  });
  const once = createHttpPublisher({ url: 'http://127.0.0.1:1', fetch: flaky() });
  try {
    expect(await retrying.publish('a', 'x')).toBe('e.0.1');
    expect(seen).toHaveLength(3);
    expect(seen[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(seen).size).toBe(1);
    seen.length = 0;
    expect((await failure(once.publish('a', 'x'))).code).toBe('BROKER_UNAVAILABLE');
    expect(seen).toEqual([null]);
  } finally {
    await retrying.close();
    await once.close();
  }
});

it('attempts 0 does not retry the Redis publisher', async () => {
  const url = inject('redisUrl');
  const admin = new Redis(url);
  const p0 = prefix();
  const p = createPublisher({ redis: url, prefix: p0, settings: {}, commandTimeoutMs: 200 });
  try {
    await p.publish('a', 'warm up');
    await admin.call('CLIENT', 'PAUSE', '500', 'WRITE');
    expect((await failure(p.publish('a', 'slow'))).code).toBe('TIMEOUT');
  } finally {
    await admin.call('CLIENT', 'UNPAUSE');
    admin.disconnect();
    await p.close();
  }
});

it('stops retrying once the circuit breaker is open', async () => {
  const p = createPublisher({
    redis: server.url,
    prefix: prefix(),
    settings: {},
    breaker: { volumeThreshold: 1, resetTimeoutMs: 60_000 },
    retry: { attempts: 20, baseDelayMs: 10, maxDelayMs: 20 },
  });
  try {
    await p.publish('a', 'warm up');
    await server.kill();
    const started = performance.now();
    const err = await failure(p.publish('a', 'x'));
    expect(err.code).toBe('BROKER_UNAVAILABLE');
    expect(err.message).toMatch(/circuit breaker is open/);
    expect(p.state).toBe('open');
    expect(performance.now() - started).toBeLessThan(2000);
  } finally {
    await p.close();
    await server.restart();
  }
});

it('publishMany generates a key for each event without one, kept across retries', async () => {
  const bodies: { events: { idempotencyKey?: string }[] }[] = [];
  let n = 0;
  const http = createHttpPublisher({
    url: 'http://127.0.0.1:1',
    retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
    fetch: (_url, init) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      bodies.push(JSON.parse(body) as { events: { idempotencyKey?: string }[] });
      n++;
      return Promise.resolve(
        n === 1
          ? new Response(
              JSON.stringify({ error: { code: 'BROKER_UNAVAILABLE', message: 'down' } }),
              { status: 503, headers: { 'content-type': 'application/json' } },
            )
          : new Response(JSON.stringify({ ids: ['e.0.1', 'e.0.2'] }), {
              status: 200,
              headers: { 'content-type': 'application/json' },
            }),
      );
    },
  });
  try {
    expect(
      await http.publishMany([
        { topic: 'a', data: 1 },
        { topic: 'b', data: 2, idempotencyKey: 'mine' },
      ]),
    ).toEqual(['e.0.1', 'e.0.2']);
  } finally {
    await http.close();
  }
  expect(bodies).toHaveLength(2);
  const [first] = bodies;
  expect(first?.events[0]?.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
  expect(first?.events[1]?.idempotencyKey).toBe('mine');
  for (const b of bodies) expect(b).toEqual(first);
});
