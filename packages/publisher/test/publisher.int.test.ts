import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  READ_SCRIPT,
  decodeEventId,
  parseRelayedMessage,
  isWellFormedEventId,
  metaKey,
  positionToStreamId,
  shardOf,
  streamKey,
} from '@ssehub/protocol';
import { createPublisher, PublisherError, type Publisher } from '../src/index.js';

const url = inject('redisUrl');

let redis: Redis;
let prefix: string;
const publishers: Publisher[] = [];

/**
 * A publisher that may initialise the test's fresh prefix itself (as if a gateway had run with
 * the defaults); meta-init.int.test.ts covers publishers without settings.
 */
function open(options: Partial<Parameters<typeof createPublisher>[0]> = {}): Publisher {
  const p = createPublisher({ redis: url, prefix, settings: {}, ...options });
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

beforeEach(() => {
  redis = new Redis(url);
  prefix = `t${randomUUID().slice(0, 8)}`;
});

afterEach(async () => {
  await Promise.all(publishers.splice(0).map((p) => p.close()));
  redis.disconnect();
});

describe('publish', () => {
  it('resolves an id and stores the event in the stream with the fields READ_SCRIPT reads', async () => {
    const p = open();
    const id = await p.publish('pets/dogs', { name: 'Rex' }, { event: 'added' });
    expect(isWellFormedEventId(id)).toBe(true);
    const [cursor] = decodeEventId(id);
    expect(cursor?.shard).toBe(0);
    const meta = await redis.hgetall(metaKey({ prefix, shardCount: 1 }, 0));
    expect(cursor?.epoch).toBe(meta['epoch']);
    expect(meta).toMatchObject({
      version: '1',
      shards: '1',
      historySize: '10000',
      historyTtlMs: '3600000',
      idempotencyTtlMs: '300000',
      maxEventBytes: '65536',
    });
    const entries = await redis.xrange(streamKey({ prefix, shardCount: 1 }, 0), '-', '+');
    expect(entries).toEqual([
      [
        positionToStreamId(cursor!.position),
        ['t', 'pets/dogs', 'e', 'added', 'd', '{"name":"Rex"}'],
      ],
    ]);
  });

  it('sends strings verbatim and stores an empty event name for none', async () => {
    const p = open();
    await p.publish('/news', '{"not":"reserialized"} ');
    const entries = await redis.xrange(streamKey({ prefix, shardCount: 1 }, 0), '-', '+');
    expect(entries[0]?.[1]).toEqual(['t', 'news', 'e', '', 'd', '{"not":"reserialized"} ']);
  });

  it('relays the event on the exact, subtree and wildcard channels', async () => {
    const subscriber = new Redis(url);
    try {
      const base = `${prefix}:{${prefix}:s0}:`;
      const channels = [`${base}t:pets/dogs`, `${base}sub:pets`, `${base}all`];
      await subscriber.subscribe(...channels);
      const received: [string, string][] = [];
      const all = new Promise<void>((resolve) => {
        subscriber.on('message', (channel: string, message: string) => {
          received.push([channel, message]);
          if (received.length === channels.length) resolve();
        });
      });
      const p = open();
      const id = await p.publish('pets/dogs', 'woof', { event: 'bark' });
      await all;
      const [cursor] = decodeEventId(id);
      const message = `1\n${cursor!.epoch}\n${positionToStreamId(cursor!.position)}\npets/dogs\nbark\nwoof`;
      expect(received.map(([c]) => c).sort()).toEqual([...channels].sort());
      for (const [, m] of received) expect(m).toBe(message);
    } finally {
      subscriber.disconnect();
    }
  });

  it('reuses an existing meta hash without overwriting its settings', async () => {
    const key = metaKey({ prefix, shardCount: 1 }, 0);
    await redis.hset(key, {
      version: '1',
      shards: '1',
      epoch: 'AbCd',
      pastEpochs: '',
      historySize: '5',
      historyTtlMs: '1000000',
      idempotencyTtlMs: '1000',
      maxEventBytes: '10',
    });
    const p = open();
    const id = await p.publish('a', 'short');
    expect(decodeEventId(id)[0]?.epoch).toBe('AbCd');
    expect(await redis.hget(key, 'maxEventBytes')).toBe('10');
    const err = await rejection(p.publish('a', 'more than ten bytes'));
    expect(err.code).toBe('EVENT_TOO_LARGE');
    expect(err.message).toMatch(/limit is 10 \(MAX_EVENT_BYTES\)/);
    expect(await redis.xlen(streamKey({ prefix, shardCount: 1 }, 0))).toBe(1);
  });
});

describe('interop with the gateway', () => {
  it('writes entries that READ_SCRIPT (the gateway history read) returns as published', async () => {
    const p = open();
    const ids = await p.publishMany([
      { topic: 'pets/dogs', data: 'plain', event: 'bark' },
      { topic: 'pets', data: { n: 1 } },
    ]);
    const keys = { prefix, shardCount: 1 };
    const reply = (await redis.eval(
      READ_SCRIPT,
      2,
      metaKey(keys, 0),
      streamKey(keys, 0),
      '',
      '',
      '10',
      '3600000',
    )) as string[];
    const [verdict, epoch, lastGen, ...rest] = reply;
    expect(verdict).toBe('ok');
    const cursors = ids.map((id) => decodeEventId(id)[0]!);
    expect(cursors.map((c) => c.epoch)).toEqual([epoch, epoch]);
    expect(lastGen).toBe(positionToStreamId(cursors[1]!.position));
    expect(rest).toEqual([
      positionToStreamId(cursors[0]!.position),
      'pets/dogs',
      'bark',
      'plain',
      positionToStreamId(cursors[1]!.position),
      'pets',
      '',
      '{"n":1}',
    ]);
  });

  it('relays a message the gateway relay parses to the same id', async () => {
    const subscriber = new Redis(url);
    try {
      const channel = `${prefix}:{${prefix}:s0}:t:news/today`;
      await subscriber.subscribe(channel);
      const message = new Promise<string>((resolve) => {
        subscriber.once('message', (_channel: string, m: string) => {
          resolve(m);
        });
      });
      const id = await open().publish('news/today', 'line 1\nline 2', { event: 'story' });
      const parsed = parseRelayedMessage(await message);
      const [cursor] = decodeEventId(id);
      expect(parsed).toEqual({
        ok: true,
        message: {
          epoch: cursor!.epoch,
          streamId: positionToStreamId(cursor!.position),
          topic: 'news/today',
          event: 'story',
          data: 'line 1\nline 2',
        },
      });
    } finally {
      subscriber.disconnect();
    }
  });
});

describe('publishMany', () => {
  it('keeps order and runs one script per shard', async () => {
    const p = open({ shards: 4 });
    const topics = ['a', 'b', 'c', 'd', 'e', 'a/x', 'b/y'];
    const ids = await p.publishMany(topics.map((topic, i) => ({ topic, data: i })));
    expect(ids).toHaveLength(topics.length);
    const keys = { prefix, shardCount: 4 };
    for (const [i, id] of ids.entries()) {
      const [cursor] = decodeEventId(id);
      const shard = shardOf(topics[i]!, 4);
      expect(cursor?.shard).toBe(shard);
      const sid = positionToStreamId(cursor!.position);
      const [entry] = await redis.xrange(streamKey(keys, shard), sid, sid);
      expect(entry?.[1]).toEqual(['t', topics[i], 'e', '', 'd', String(i)]);
    }
    // Events of one shard keep their order in its stream.
    const shard0 = await redis.xrange(streamKey(keys, shardOf('a', 4)), '-', '+');
    const expected = topics.filter((t) => shardOf(t, 4) === shardOf('a', 4));
    expect(shard0.map(([, f]) => f[1])).toEqual(expected);
  });

  it('resolves [] for an empty batch without touching Redis', async () => {
    const p = open();
    expect(await p.publishMany([])).toEqual([]);
    expect(await redis.exists(metaKey({ prefix, shardCount: 1 }, 0))).toBe(0);
  });

  it('rejects a batch that partly failed across shards with the stored ids', async () => {
    const p = open({ shards: 2 });
    // Find topics on two different shards.
    const t0 = ['a', 'b', 'c', 'd', 'e', 'f'].find((t) => shardOf(t, 2) === 0)!;
    const t1 = ['a', 'b', 'c', 'd', 'e', 'f'].find((t) => shardOf(t, 2) === 1)!;
    await p.publish(t1, 'first', { idempotencyKey: 'k1' });
    const err = await rejection(
      p.publishMany([
        { topic: t0, data: 'stored' },
        { topic: t1, data: 'different', idempotencyKey: 'k1' },
      ]),
    );
    expect(err.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(err.ids).toHaveLength(2);
    expect(typeof err.ids?.[0]).toBe('string');
    expect(err.ids?.[1]).toBeNull();
    expect(err.message).toMatch(/error\.ids/);
  });
});

describe('idempotency', () => {
  it('stores a retried event once and returns the same id', async () => {
    const p = open();
    const first = await p.publish('orders/1', { ok: true }, { idempotencyKey: 'order-1' });
    const again = await p.publish('orders/1', { ok: true }, { idempotencyKey: 'order-1' });
    expect(again).toBe(first);
    expect(await redis.xlen(streamKey({ prefix, shardCount: 1 }, 0))).toBe(1);
  });

  it('rejects a repeat with other content with IDEMPOTENCY_CONFLICT', async () => {
    const p = open();
    await p.publish('orders/1', 'a', { idempotencyKey: 'order-1' });
    const err = await rejection(p.publish('orders/1', 'b', { idempotencyKey: 'order-1' }));
    expect(err.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(err.message).toContain('"order-1"');
    expect(await redis.xlen(streamKey({ prefix, shardCount: 1 }, 0))).toBe(1);
  });
});

describe('validation before any I/O', () => {
  it.each([
    ['INVALID_TOPIC', () => ['bad topic', 'x', {}] as const],
    ['INVALID_TOPIC', () => ['a//b', 'x', {}] as const],
    ['INVALID_EVENT_NAME', () => ['a', 'x', { event: 'error' }] as const],
    ['INVALID_EVENT_NAME', () => ['a', 'x', { event: 'ssehub.reset' }] as const],
    ['INVALID_DATA', () => ['a', undefined, {}] as const],
    ['INVALID_DATA', () => ['a', 10n, {}] as const],
    ['INVALID_DATA', () => ['a', '\uD800', {}] as const],
    ['INVALID_OPTIONS', () => ['a', 'x', { idempotencyKey: 'has space' }] as const],
  ])('%s', async (code, args) => {
    const p = open();
    const [topic, data, options] = args();
    const err = await rejection(p.publish(topic, data, options));
    expect(err.code).toBe(code);
    expect(await redis.exists(metaKey({ prefix, shardCount: 1 }, 0))).toBe(0);
    expect(await redis.xlen(streamKey({ prefix, shardCount: 1 }, 0))).toBe(0);
  });

  it('refuses a cyclic value', async () => {
    const p = open();
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect((await rejection(p.publish('a', cyclic))).code).toBe('INVALID_DATA');
  });

  it('validates a whole batch before storing any of it', async () => {
    const p = open();
    await p.publish('a', 'warm up');
    const err = await rejection(
      p.publishMany([
        { topic: 'a', data: 'fine' },
        { topic: 'a', data: 'x'.repeat(65_537) },
      ]),
    );
    expect(err.code).toBe('EVENT_TOO_LARGE');
    expect(err.message).toContain('event 1');
    expect(await redis.xlen(streamKey({ prefix, shardCount: 1 }, 0))).toBe(1);
  });
});

describe('deployment checks', () => {
  it('refuses a shard count that differs from the deployment', async () => {
    await open({ shards: 2 }).publish('a', 'x');
    const err = await rejection(open({ shards: 3 }).publish('a', 'x'));
    expect(err.code).toBe('CONFIG_MISMATCH');
    expect(err.message).toContain('REDIS_SHARDS = 2');
    expect(err.message).toContain('shards: 2');
  });

  it('refuses another protocol version', async () => {
    await redis.hset(metaKey({ prefix, shardCount: 1 }, 0), { version: '999', shards: '1' });
    const err = await rejection(open().publish('a', 'x'));
    expect(err.code).toBe('CONFIG_MISMATCH');
    expect(err.message).toContain('version 999');
  });

  it('rejects a client configured with keyPrefix', () => {
    const client = new Redis(url, { keyPrefix: 'app:', lazyConnect: true });
    try {
      let thrown: unknown;
      try {
        createPublisher({ redis: client, prefix });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(PublisherError);
      expect((thrown as PublisherError).code).toBe('INVALID_OPTIONS');
      expect((thrown as PublisherError).message).toMatch(/keyPrefix "app:".*without keyPrefix/);
    } finally {
      client.disconnect();
    }
  });

  it('rejects a bad prefix or shard count', () => {
    expect(() => createPublisher({ redis: url, prefix: 'a:b' })).toThrow(PublisherError);
    expect(() => createPublisher({ redis: url, shards: 17 })).toThrow(/REDIS_SHARDS/);
  });
});

describe('with a caller client', () => {
  it('publishes on its own connection and leaves the caller client open on close', async () => {
    const client = new Redis(url);
    try {
      const p = createPublisher({ redis: client, prefix, settings: {} });
      await p.publish('a', 'x');
      await p.close();
      expect(client.status).toBe('ready');
      expect(await client.xlen(streamKey({ prefix, shardCount: 1 }, 0))).toBe(1);
    } finally {
      client.disconnect();
    }
  });
});

describe('close', () => {
  it('closes a publisher that never published, without connecting', async () => {
    const p = createPublisher({ redis: url, prefix });
    await p.close();
    expect((await rejection(p.publish('a', 'x'))).code).toBe('CLOSED');
    expect(await redis.exists(metaKey({ prefix, shardCount: 1 }, 0))).toBe(0);
  });

  it('rejects publishMany after close too, and close twice is fine', async () => {
    const p = open();
    await p.publish('a', 'x');
    await Promise.all([p.close(), p.close()]);
    expect((await rejection(p.publishMany([{ topic: 'a', data: 1 }]))).code).toBe('CLOSED');
  });

  it('waits for in-flight publishes, then rejects new ones with CLOSED', async () => {
    const p = open();
    const inFlight = p.publishMany([
      { topic: 'a', data: 1 },
      { topic: 'a', data: 2 },
    ]);
    const closed = p.close();
    const ids = await inFlight;
    await closed;
    expect(ids).toHaveLength(2);
    expect(await redis.xlen(streamKey({ prefix, shardCount: 1 }, 0))).toBe(2);
    const err = await rejection(p.publish('a', 'late'));
    expect(err.code).toBe('CLOSED');
    expect(err.message).toMatch(/after close\(\)/);
    await p.close();
  });
});
