/**
 * Who creates a shard's meta hash (SPEC.md section 9): a publisher with no settings of its own
 * never invents the deployment's values; it waits for a gateway, then fails with
 * NOT_INITIALIZED. One with `settings` may create the hash with them, and never changes an
 * existing one.
 */
import { randomUUID } from 'node:crypto';
import {
  ENSURE_META_SCRIPT,
  REDIS_PROTOCOL_VERSION,
  metaKey,
  streamKey,
  type KeySpace,
} from '@ssehub/protocol';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createPublisher, PublisherError, type Publisher } from '../src/index.js';

const url = inject('redisUrl');
let redis: Redis;
let keys: KeySpace;
const publishers: Publisher[] = [];

function open(options: Partial<Parameters<typeof createPublisher>[0]> = {}): Publisher {
  const p = createPublisher({ redis: url, prefix: keys.prefix, ...options });
  publishers.push(p);
  return p;
}

/** What a gateway with HISTORY_SIZE=50 and MAX_EVENT_BYTES=1000 does on start. */
async function gatewayCreatesMeta(): Promise<void> {
  await redis.eval(
    ENSURE_META_SCRIPT,
    1,
    metaKey(keys, 0),
    REDIS_PROTOCOL_VERSION,
    '1',
    'GwEp',
    '1',
    '50',
    '3600000',
    '300000',
    '1000',
    '',
  );
}

async function rejection(promise: Promise<unknown>): Promise<PublisherError> {
  const err = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PublisherError);
  return err as PublisherError;
}

beforeEach(() => {
  redis = new Redis(url);
  keys = { prefix: `t${randomUUID().slice(0, 8)}`, shardCount: 1 };
});

afterEach(async () => {
  await Promise.all(publishers.splice(0).map((p) => p.close()));
  redis.disconnect();
});

describe('a publisher without settings', () => {
  it('does not create a missing meta hash: it waits, then rejects with NOT_INITIALIZED', async () => {
    const p = open({ commandTimeoutMs: 400 });
    const started = performance.now();
    const err = await rejection(p.publish('a', 'x'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
    expect(err.code).toBe('NOT_INITIALIZED');
    expect(err.message).toContain(
      `No gateway has initialised this deployment's Redis (prefix "${keys.prefix}")`,
    );
    expect(err.message).toMatch(/Start a gateway.*or pass the deployment's settings/);
    expect(await redis.exists(metaKey(keys, 0))).toBe(0);
    expect(await redis.exists(streamKey(keys, 0))).toBe(0);
  });

  it('publishes once a gateway created the hash while it waited, with the gateway’s values', async () => {
    const p = open({ commandTimeoutMs: 5000 });
    const publishing = p.publish('a', 'x');
    await new Promise((r) => setTimeout(r, 300));
    await gatewayCreatesMeta();
    await publishing;
    expect(await redis.hgetall(metaKey(keys, 0))).toMatchObject({
      epoch: 'GwEp',
      historySize: '50',
      maxEventBytes: '1000',
    });
    // The gateway's MAX_EVENT_BYTES applies from now on.
    expect((await rejection(p.publish('a', 'y'.repeat(1001)))).code).toBe('EVENT_TOO_LARGE');
  });

  it('never recreates a flushed hash with its own defaults (FLUSHALL, then publish)', async () => {
    await gatewayCreatesMeta();
    const p = open({ commandTimeoutMs: 400 });
    await p.publish('a', 'before');
    // Redis lost its data (what FLUSHALL does, for this prefix only: the Redis is shared).
    await redis.del(metaKey(keys, 0), streamKey(keys, 0));
    expect((await rejection(p.publish('a', 'after'))).code).toBe('NOT_INITIALIZED');
    expect(await redis.exists(metaKey(keys, 0))).toBe(0);
    // A gateway recreates it (with its settings, recording the old epoch): publishing resumes.
    await gatewayCreatesMeta();
    await p.publish('a', 'again');
    expect(await redis.hget(metaKey(keys, 0), 'historySize')).toBe('50');
  });
});

describe('a publisher with settings', () => {
  it('creates a missing hash with its settings, the rest from the gateway defaults', async () => {
    const p = open({ settings: { historySize: 50, maxEventBytes: 1000 } });
    await p.publish('a', 'x');
    expect(await redis.hgetall(metaKey(keys, 0))).toMatchObject({
      historySize: '50',
      historyTtlMs: '3600000',
      idempotencyTtlMs: '300000',
      maxEventBytes: '1000',
    });
  });

  it('never changes an existing hash', async () => {
    await gatewayCreatesMeta();
    const p = open({ settings: { historySize: 7, maxEventBytes: 99 } });
    await p.publish('a', 'x');
    expect(await redis.hgetall(metaKey(keys, 0))).toMatchObject({
      historySize: '50',
      maxEventBytes: '1000',
    });
  });

  it.each([
    [{ historySize: -1 }, /settings\.historySize is -1/],
    [{ maxEventBytes: 0 }, /settings\.maxEventBytes is 0/],
    [{ historyTtlMs: 1.5 }, /settings\.historyTtlMs is 1\.5/],
  ])('refuses bad settings %j', (settings, message) => {
    expect(() => createPublisher({ redis: url, settings })).toThrow(message);
  });
});
