import { describe, expect, it } from 'vitest';
import { ProtocolError, type ProtocolErrorCode } from './errors.js';
import {
  exactChannel,
  idempotencyKey,
  metaKey,
  replicasKey,
  shardTag,
  shardWildcardChannel,
  streamKey,
  subtreeChannel,
  validatePrefix,
  type KeySpace,
} from './redis-keys.js';
import { shardOf } from './shard.js';

function thrown(fn: () => unknown, code: ProtocolErrorCode): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(code);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

const one: KeySpace = { prefix: 'ssehub', shardCount: 1 };
const many: KeySpace = { prefix: 'app.prod', shardCount: 16 };

describe('validatePrefix', () => {
  it.each(['ssehub', 'a', 'A-Z_a.z-09', 'x'.repeat(64)])('accepts %j', (prefix) => {
    expect(validatePrefix(prefix)).toBe(prefix);
  });

  it.each(['', 'x'.repeat(65), 'a:b', '{a}', 'a b', 'a/b', 'é', 'a*'])('refuses %j', (prefix) => {
    expect(thrown(() => validatePrefix(prefix), 'INVALID_FIELD').message).toMatch(
      /use 1 to 64 characters from A-Z a-z 0-9 _ - \./,
    );
  });
});

describe('shard keys', () => {
  it('share the shard hash tag', () => {
    expect(shardTag(one, 0)).toBe('{ssehub:s0}');
    expect(metaKey(one, 0)).toBe('ssehub:{ssehub:s0}:meta');
    expect(streamKey(one, 0)).toBe('ssehub:{ssehub:s0}:log');
    expect(idempotencyKey(one, 0, 'order-17')).toBe('ssehub:{ssehub:s0}:idem:order-17');
    expect(shardWildcardChannel(one, 0)).toBe('ssehub:{ssehub:s0}:all');
    expect(shardTag(many, 15)).toBe('{app.prod:s15}');
    expect(streamKey(many, 15)).toBe('app.prod:{app.prod:s15}:log');
  });

  it('keep braces of an idempotency key after the hash tag', () => {
    const key = idempotencyKey(one, 0, '{other}');
    expect(key).toBe('ssehub:{ssehub:s0}:idem:{other}');
    expect(key.indexOf('{')).toBe(key.indexOf(shardTag(one, 0)));
  });

  it('refuse an empty idempotency key', () => {
    expect(thrown(() => idempotencyKey(one, 0, ''), 'INVALID_FIELD').message).toBe(
      'An idempotency key must not be empty.',
    );
  });

  it.each([-1, 1, 1.5, Number.NaN])('refuse shard %d of a one-shard key space', (shard) => {
    for (const build of [shardTag, metaKey, streamKey, shardWildcardChannel]) {
      expect(thrown(() => build(one, shard), 'INVALID_FIELD').message).toMatch(
        /integer from 0 to 0/,
      );
    }
    thrown(() => idempotencyKey(one, shard, 'k'), 'INVALID_FIELD');
  });

  it('refuse a bad key space', () => {
    thrown(() => streamKey({ prefix: 'a:b', shardCount: 1 }, 0), 'INVALID_FIELD');
    thrown(() => streamKey({ prefix: 'a', shardCount: 0 }, 0), 'INVALID_FIELD');
    thrown(() => streamKey({ prefix: 'a', shardCount: 17 }, 0), 'INVALID_FIELD');
    thrown(() => replicasKey({ prefix: '', shardCount: 1 }), 'INVALID_FIELD');
    thrown(() => exactChannel({ prefix: 'a', shardCount: 99 }, 'pets'), 'INVALID_FIELD');
  });
});

describe('topic channels', () => {
  it('put a topic on its shard', () => {
    expect(exactChannel(one, 'pets/dogs')).toBe('ssehub:{ssehub:s0}:t:pets/dogs');
    expect(subtreeChannel(one, 'pets')).toBe('ssehub:{ssehub:s0}:sub:pets');
    expect(shardOf('pets', 16)).toBe(7);
    expect(exactChannel(many, 'pets/dogs')).toBe('app.prod:{app.prod:s7}:t:pets/dogs');
    expect(subtreeChannel(many, 'pets/dogs')).toBe('app.prod:{app.prod:s7}:sub:pets/dogs');
  });

  it('normalize a leading "/"', () => {
    expect(exactChannel(one, '/pets')).toBe('ssehub:{ssehub:s0}:t:pets');
    expect(subtreeChannel(one, '/pets')).toBe('ssehub:{ssehub:s0}:sub:pets');
  });

  it('share the hash tag of the stream of the same shard', () => {
    for (const topic of ['pets', 'news/today', 'users/42', 'time']) {
      const tag = shardTag(many, shardOf(topic, 16));
      expect(exactChannel(many, topic)).toContain(tag);
      expect(subtreeChannel(many, topic)).toContain(tag);
    }
  });

  it.each(['', 'a//b', 'pets/*', 'pets/**', 'a b'])('refuse topic %j', (topic) => {
    thrown(() => exactChannel(one, topic), 'INVALID_TOPIC');
    thrown(() => subtreeChannel(one, topic), 'INVALID_TOPIC');
  });

  it('keep exact, subtree and shard-wide channels apart', () => {
    // "sub:x" as a topic cannot collide with the subtree channel of "x".
    expect(exactChannel(one, 'sub:x')).not.toBe(subtreeChannel(one, 'x'));
    expect(exactChannel(one, 'all')).not.toBe(shardWildcardChannel(one, 0));
  });
});

describe('replicasKey', () => {
  it('is deployment-wide, without a hash tag', () => {
    expect(replicasKey(one)).toBe('ssehub:replicas');
    expect(replicasKey(many)).toBe('app.prod:replicas');
  });
});
