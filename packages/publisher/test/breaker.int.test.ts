import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPublisher, PublisherError, type BreakerState } from '../src/index.js';
import { RedisServer, freePort } from '@ssehub/local-redis';
import { Redis } from 'ioredis';

let server: RedisServer;

beforeAll(async () => {
  // Its own Redis: this test kills it.
  server = await RedisServer.start();
});

afterAll(async () => {
  await server.stop();
});

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(PublisherError);
    return (err as PublisherError).code;
  }
  return 'resolved';
}

it('opens while Redis is down, fails fast, and closes once Redis is back', async () => {
  const states: BreakerState[] = [];
  const p = createPublisher({
    redis: server.url,
    prefix: 'breaker',
    // The restart below loses the meta hash: this publisher may recreate it.
    settings: {},
    breaker: { volumeThreshold: 2, resetTimeoutMs: 300 },
    onStateChange: (s) => states.push(s),
  });
  try {
    await p.publish('a', 'before');
    expect(p.state).toBe('closed');
    await server.kill();
    for (let i = 0; i < 3; i++)
      expect(await code(p.publish('a', 'down'))).toBe('BROKER_UNAVAILABLE');
    expect(p.state).toBe('open');
    const started = performance.now();
    const err = await p.publish('a', 'fast').catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(50);
    expect(err).toBeInstanceOf(PublisherError);
    expect((err as PublisherError).code).toBe('BROKER_UNAVAILABLE');
    expect((err as PublisherError).message).toMatch(/circuit breaker is open/);

    await server.restart();
    // Wait for the reconnect: the connection's `ready` closes the circuit.
    let id: string | undefined;
    for (let i = 0; i < 100 && id === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      id = await p.publish('a', 'after').catch(() => undefined);
    }
    expect(id).toBeDefined();
    expect(p.state).toBe('closed');
    expect(states).toContain('open');
    expect(states.at(-1)).toBe('closed');
  } finally {
    await p.close();
  }
});

it('rejects with TIMEOUT when Redis does not answer in time', async () => {
  const admin = new Redis(server.url);
  const p = createPublisher({
    redis: server.url,
    prefix: 'timeout',
    commandTimeoutMs: 200,
    settings: {},
  });
  try {
    await p.publish('a', 'warm up');
    // Redis holds every write command for a second: the publish script cannot answer.
    await admin.call('CLIENT', 'PAUSE', '1000', 'WRITE');
    const err = await p.publish('a', 'slow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublisherError);
    expect((err as PublisherError).code).toBe('TIMEOUT');
    expect((err as PublisherError).message).toMatch(/same idempotency key/);
  } finally {
    await admin.call('CLIENT', 'UNPAUSE');
    admin.disconnect();
    await p.close();
  }
});

it('rejects with BROKER_UNAVAILABLE when Redis cannot be reached at all', async () => {
  const port = await freePort();
  const p = createPublisher({ redis: `redis://127.0.0.1:${port}`, commandTimeoutMs: 300 });
  try {
    expect(await code(p.publish('a', 'x'))).toBe('BROKER_UNAVAILABLE');
  } finally {
    await p.close();
  }
});
