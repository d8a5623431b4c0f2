/**
 * Publishes are accepted again as soon as Redis is healthy (SPEC.md section 9: "no breaker delay
 * beyond one probe"): the connection's `ready` closes the circuit, so the first publish after
 * it succeeds instead of failing fast until `resetTimeoutMs` has passed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createPublisher, type PublisherError } from '../src/index.js';
import { RedisServer } from '@ssehub/local-redis';

let server: RedisServer;

beforeAll(async () => {
  // Its own Redis: this test stops and restarts it.
  server = await RedisServer.start();
});

afterAll(async () => {
  await server.stop();
});

/** Resolves once the publisher's connection (CLIENT SETNAME publisher) is back on Redis. */
async function publisherConnected(): Promise<void> {
  const admin = new Redis(server.url, { lazyConnect: true, retryStrategy: () => 50 });
  admin.on('error', () => undefined);
  try {
    for (;;) {
      const list = await admin.client('LIST').catch(() => '');
      if (typeof list === 'string' && / name=publisher /.test(list)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    admin.disconnect();
  }
}

it('accepts publishes as soon as Redis is back, without waiting out the reset timeout (#3)', async () => {
  const p = createPublisher({
    redis: server.url,
    prefix: 'ready',
    settings: {},
    // A reset timeout far beyond what the assertion allows: only `ready` can close it in time.
    breaker: { volumeThreshold: 2, resetTimeoutMs: 30_000 },
  });
  try {
    await p.publish('a', 'before');
    await server.kill();
    for (let i = 0; i < 5 && p.state !== 'open'; i++) {
      await p.publish('a', 'down').catch(() => undefined);
    }
    expect(p.state).toBe('open');
    const fast = await p.publish('a', 'fast').catch((e: unknown) => e);
    expect((fast as PublisherError).message).toMatch(/circuit breaker is open/);

    await server.restart();
    await publisherConnected();
    const connectedAt = performance.now();
    let id: string | undefined;
    while (id === undefined && performance.now() - connectedAt < 5000) {
      id = await p.publish('a', 'after').catch(() => undefined);
      if (id === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(id).toBeDefined();
    // Generous for a loaded 2-core machine; without the fix it is 30 s.
    expect(performance.now() - connectedAt).toBeLessThan(1500);
    expect(p.state).toBe('closed');
  } finally {
    await p.close();
  }
});
