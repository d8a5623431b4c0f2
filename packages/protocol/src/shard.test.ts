import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, type ProtocolErrorCode } from './errors.js';
import { assertShardCount, fnv1a32, shardOf } from './shard.js';

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

const segmentArb = fc.string({
  unit: fc.constantFrom(...Array.from('abcXYZ019_~:@|-')),
  minLength: 1,
  maxLength: 10,
});

describe('fnv1a32', () => {
  // Reference values of the published FNV-1a 32-bit test suite, and of a Python implementation.
  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
    ['pets', 0xceea5277],
    ['users', 0x5e7cc513],
  ])('of %j is %i', (text, hash) => {
    expect(fnv1a32(text)).toBe(hash);
  });

  it('hashes only the first `end` characters', () => {
    expect(fnv1a32('pets/dogs', 4)).toBe(fnv1a32('pets'));
  });

  it('returns an unsigned 32-bit integer', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const hash = fnv1a32(text);
        expect(Number.isInteger(hash) && hash >= 0 && hash < 2 ** 32).toBe(true);
      }),
    );
  });
});

describe('shardOf', () => {
  it.each([
    ['pets', 16, 7],
    ['pets/dogs', 16, 7],
    ['pets', 3, 2],
    ['users/42/inbox', 16, 3],
    ['news', 16, 6],
    ['time', 16, 4],
    ['x', 5, 0],
    ['a', 16, 12],
  ])('of %j with %i shards is %i', (topic, count, shard) => {
    expect(shardOf(topic, count)).toBe(shard);
  });

  it('depends only on the first segment, so a subtree stays on one shard', () => {
    fc.assert(
      fc.property(
        fc.array(segmentArb, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 16 }),
        (segments, count) => {
          const topic = segments.join('/');
          const shard = shardOf(topic, count);
          expect(shard).toBe(shardOf(segments[0] ?? '', count));
          expect(shardOf(`/${topic}`, count)).toBe(shard);
          expect(Number.isInteger(shard) && shard >= 0 && shard < count).toBe(true);
          expect(shard).toBe(fnv1a32(segments[0] ?? '') % count);
        },
      ),
    );
  });

  it('is always 0 with one shard', () => {
    fc.assert(
      fc.property(segmentArb, (topic) => {
        expect(shardOf(topic, 1)).toBe(0);
      }),
    );
  });

  it('spreads first segments over the shards', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 1600; i++) {
      const shard = shardOf(`tenant-${i}/events`, 16);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(50);
  });

  it('refuses an invalid topic', () => {
    thrown(() => shardOf('a//b', 4), 'INVALID_TOPIC');
    thrown(() => shardOf('*', 1), 'INVALID_TOPIC');
  });

  it.each([0, 17, 1.5, -1, Number.NaN])('refuses shard count %d', (count) => {
    expect(thrown(() => shardOf('a', count), 'INVALID_FIELD').message).toMatch(
      /integer from 1 to 16/,
    );
    thrown(() => {
      assertShardCount(count);
    }, 'INVALID_FIELD');
  });
});
