import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, type ProtocolErrorCode } from './errors.js';
import {
  EPOCH_LENGTH,
  MAX_EVENT_ID_LENGTH,
  MAX_SHARDS,
  comparePositions,
  decodeEventId,
  encodeEventId,
  isWellFormedEventId,
  newEpoch,
  positionToStreamId,
  streamIdToPosition,
  type Cursor,
} from './event-id.js';

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

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const MS_LIMIT = 62 ** 7;

const epochArb = fc.string({
  unit: fc.constantFrom(...Array.from(BASE62)),
  minLength: 4,
  maxLength: 4,
});

/** 1 to 16 cursors with distinct shards, in random order, with seq bounded by maxSeq. */
const cursorsArb = (maxSeq: number): fc.Arbitrary<Cursor[]> =>
  fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 16 }).chain((shards) =>
    fc.tuple(
      ...shards.map((shard) =>
        fc.record({
          epoch: epochArb,
          shard: fc.constant(shard),
          position: fc.record({
            ms: fc.oneof(
              fc.nat({ max: MS_LIMIT - 1 }),
              fc.constantFrom(0, MS_LIMIT - 1, 1763800000000),
            ),
            seq: fc.oneof(fc.nat({ max: maxSeq }), fc.constantFrom(0, maxSeq)),
          }),
        }),
      ),
    ),
  );

const byShard = (cursors: readonly Cursor[]): Cursor[] =>
  [...cursors].sort((a, b) => a.shard - b.shard);

const one = (epoch: string, shard: number, ms: number, seq: number): Cursor => ({
  epoch,
  shard,
  position: { ms, seq },
});

describe('constants', () => {
  it('are the documented values', () => {
    expect([MAX_SHARDS, MAX_EVENT_ID_LENGTH, EPOCH_LENGTH]).toEqual([16, 256, 4]);
  });
});

describe('comparePositions', () => {
  it.each([
    [{ ms: 1, seq: 0 }, { ms: 2, seq: 0 }, -1],
    [{ ms: 2, seq: 0 }, { ms: 1, seq: 99 }, 1],
    [{ ms: 5, seq: 1 }, { ms: 5, seq: 2 }, -1],
    [{ ms: 5, seq: 3 }, { ms: 5, seq: 2 }, 1],
    [{ ms: 5, seq: 3 }, { ms: 5, seq: 3 }, 0],
    [{ ms: Number.MAX_SAFE_INTEGER, seq: 0 }, { ms: 0, seq: Number.MAX_SAFE_INTEGER }, 1],
  ])('compares %j with %j as %i', (a, b, expected) => {
    expect(comparePositions(a, b)).toBe(expected);
  });

  it('orders like (ms, seq) pairs and is antisymmetric', () => {
    const position = fc.record({ ms: fc.nat(10), seq: fc.nat(10) });
    fc.assert(
      fc.property(position, position, (a, b) => {
        const expected = a.ms !== b.ms ? Math.sign(a.ms - b.ms) : Math.sign(a.seq - b.seq);
        expect(comparePositions(a, b)).toBe(expected);
        expect(comparePositions(b, a)).toBe(-expected || 0);
      }),
    );
  });
});

describe('isWellFormedEventId', () => {
  it.each(['a', '0', 'aB3x0V3GX3Am5', 'a.b_c,d:e-f', 'x'.repeat(256), 'earliest', '..', ','])(
    'accepts %j',
    (id) => {
      expect(isWellFormedEventId(id)).toBe(true);
    },
  );

  it.each(['', 'x'.repeat(257), 'a b', 'a/b', 'é', 'a\n', 'a+b', '{x}'])('refuses %j', (id) => {
    expect(isWellFormedEventId(id)).toBe(false);
  });
});

describe('encodeEventId', () => {
  it('encodes one cursor as 13 characters: epoch, shard, 7-digit ms, seq', () => {
    expect(encodeEventId([one('aB3x', 0, 1763800000000, 5)])).toBe('aB3x0V3GX3Am5');
    expect(encodeEventId([one('0000', 15, 0, 0)])).toBe('0000F00000000');
    expect(encodeEventId([one('zzzz', 1, MS_LIMIT - 1, 62)])).toBe('zzzz1zzzzzzz10');
  });

  it('sorts cursors by shard and joins them with ","', () => {
    const id = encodeEventId([one('BBBB', 7, 2, 1), one('AAAA', 2, 1, 0)]);
    expect(id).toBe('AAAA200000010,BBBB700000021');
    expect(decodeEventId(id)).toEqual([one('AAAA', 2, 1, 0), one('BBBB', 7, 2, 1)]);
  });

  it('keeps 16 shards with seq up to 3843 within 256 characters', () => {
    const cursors = Array.from({ length: 16 }, (_, shard) =>
      one('zzzz', shard, MS_LIMIT - 1, 3843),
    );
    const id = encodeEventId(cursors);
    expect(id).toHaveLength(16 * 14 + 15);
    expect(id.length).toBeLessThanOrEqual(MAX_EVENT_ID_LENGTH);
    expect(decodeEventId(id)).toEqual(cursors);
  });

  it('refuses cursors whose id would exceed 256 characters', () => {
    const cursors = Array.from({ length: 16 }, (_, shard) => one('zzzz', shard, 0, 62 ** 4));
    expect(thrown(() => encodeEventId(cursors), 'INVALID_FIELD').message).toBe(
      'These cursors encode to a 287-character event id; the limit is 256.',
    );
  });

  it.each([
    [[], /1 to 16 cursors; got 0/],
    [Array.from({ length: 17 }, (_, i) => one('aaaa', i % 16, 0, 0)), /got 17/],
    [[one('aaa', 0, 0, 0)], /epoch "aaa" must be exactly 4 characters/],
    [[one('aaaaa', 0, 0, 0)], /epoch/],
    [[one('aa-a', 0, 0, 0)], /epoch/],
    [[one('aaaa', 16, 0, 0)], /shard 16 must be an integer from 0 to 15/],
    [[one('aaaa', -1, 0, 0)], /shard -1/],
    [[one('aaaa', 1.5, 0, 0)], /shard 1.5/],
    [[one('aaaa', 0, -1, 0)], /non-negative safe integers/],
    [[one('aaaa', 0, 0, -1)], /non-negative safe integers/],
    [[one('aaaa', 0, 0.5, 0)], /non-negative safe integers/],
    [[one('aaaa', 0, 0, Number.NaN)], /non-negative safe integers/],
    [[one('aaaa', 0, 0, 2 ** 53)], /non-negative safe integers/],
    [[one('aaaa', 0, MS_LIMIT, 0)], /below 3521614606208 \(the year 2081\)/],
    [[one('aaaa', 3, 0, 0), one('bbbb', 3, 1, 1)], /shard 3 appears twice/],
  ] as [Cursor[], RegExp][])('refuses %j', (cursors, message) => {
    expect(thrown(() => encodeEventId(cursors), 'INVALID_FIELD').message).toMatch(message);
  });

  it('does not modify the array it is given', () => {
    const cursors = [one('BBBB', 7, 2, 1), one('AAAA', 2, 1, 0)];
    encodeEventId(cursors);
    expect(cursors.map((c) => c.shard)).toEqual([7, 2]);
  });

  it('round-trips with decodeEventId for up to 16 shards with seq up to 3843, within 256 characters', () => {
    fc.assert(
      fc.property(cursorsArb(3843), (cursors) => {
        const id = encodeEventId(cursors);
        expect(id.length).toBeLessThanOrEqual(MAX_EVENT_ID_LENGTH);
        expect(isWellFormedEventId(id)).toBe(true);
        expect(decodeEventId(id)).toEqual(byShard(cursors));
        expect(encodeEventId(decodeEventId(id))).toBe(id);
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips any safe seq, or refuses the cursors only because the id is too long', () => {
    fc.assert(
      fc.property(cursorsArb(Number.MAX_SAFE_INTEGER), (cursors) => {
        const seqLength = (seq: number): number => {
          let length = 1;
          for (let rest = BigInt(seq); rest >= 62n; rest /= 62n) length++;
          return length;
        };
        const expectedLength =
          cursors.reduce((sum, c) => sum + 12 + seqLength(c.position.seq), 0) + cursors.length - 1;
        if (expectedLength <= MAX_EVENT_ID_LENGTH) {
          const id = encodeEventId(cursors);
          expect(decodeEventId(id)).toEqual(byShard(cursors));
        } else {
          expect(thrown(() => encodeEventId(cursors), 'INVALID_FIELD').message).toMatch(
            /-character event id/,
          );
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('orders one-shard ids of the same epoch like their positions when seq widths match', () => {
    fc.assert(
      fc.property(
        fc.record({ ms: fc.nat({ max: MS_LIMIT - 1 }), seq: fc.nat(61) }),
        fc.record({ ms: fc.nat({ max: MS_LIMIT - 1 }), seq: fc.nat(61) }),
        (a, b) => {
          const x = encodeEventId([{ epoch: 'EEEE', shard: 0, position: a }]);
          const y = encodeEventId([{ epoch: 'EEEE', shard: 0, position: b }]);
          expect(Math.sign(comparePositions(a, b))).toBe(x < y ? -1 : x > y ? 1 : 0);
        },
      ),
    );
  });
});

describe('decodeEventId', () => {
  it('decodes a one-shard id', () => {
    expect(decodeEventId('aB3x0V3GX3Am5')).toEqual([one('aB3x', 0, 1763800000000, 5)]);
  });

  it('decodes seq up to MAX_SAFE_INTEGER', () => {
    expect(decodeEventId('aaaa00000000fFgnDxSe7')).toEqual([
      one('aaaa', 0, 0, Number.MAX_SAFE_INTEGER),
    ]);
  });

  it.each([
    ['', /ids are 1 to 256 characters/],
    ['earliest', /at least 13 characters/],
    ['..', /at least 13 characters/],
    ['x'.repeat(257), /ids are 1 to 256 characters/],
    ['aB3x0V3GX3Am5,', /at least 13 characters/],
    [',aB3x0V3GX3Am5', /at least 13 characters/],
    ['aB3x0V3GX3Am5,,aB3x1V3GX3Am5', /at least 13 characters/],
    ['aB3x0V3GX3Am', /at least 13 characters/],
    ['aB3x0V3GX3A.5', /only the characters 0-9 A-Z a-z/],
    ['aB3x0V3GX3Am-', /only the characters 0-9 A-Z a-z/],
    ['aB3x0V3GX3Am5 ', /ids are 1 to 256 characters/],
    ['aB3xG00000000', /shard numbers go from 0 to 15/],
    ['aB3xz00000000', /shard numbers go from 0 to 15/],
    ['aB3x00000000005', /no leading zeros/],
    ['aaaa00000000fFgnDxSe8', /at most Number.MAX_SAFE_INTEGER/],
    ['aaaa00000000zzzzzzzzzzzzzzzzzzzz', /at most Number.MAX_SAFE_INTEGER/],
    ['AAAA100000000,BBBB100000000', /increasing order/],
    ['AAAA200000000,BBBB100000000', /increasing order/],
  ])('refuses %j', (id, message) => {
    const error = thrown(() => decodeEventId(id), 'INVALID_LAST_EVENT_ID');
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^Event id ".*" was not issued by ssehub: /);
  });

  it('refuses 17 entries even when they fit in 256 characters', () => {
    // 17 minimal entries take 17 × 13 + 16 = 237 characters, so only the entry count refuses them.
    const seventeen = Array.from(
      { length: 17 },
      (_, i) => `aaaa${BASE62.charAt(i % 16)}00000000`,
    ).join(',');
    expect(seventeen.length).toBe(237);
    expect(thrown(() => decodeEventId(seventeen), 'INVALID_LAST_EVENT_ID').message).toMatch(
      /at most 16/,
    );
  });

  it('accepts seq "0" itself', () => {
    expect(decodeEventId('aB3x000000000')).toEqual([one('aB3x', 0, 0, 0)]);
  });

  it('accepts exactly what encodeEventId produces, among arbitrary id-shaped strings', () => {
    const idChars = fc.constantFrom(...Array.from('0123456789ABCFaz,._:-'));
    fc.assert(
      fc.property(fc.string({ unit: idChars, maxLength: 40 }), (id) => {
        let cursors: Cursor[];
        try {
          cursors = decodeEventId(id);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
          expect((error as ProtocolError).code).toBe('INVALID_LAST_EVENT_ID');
          return;
        }
        expect(encodeEventId(cursors)).toBe(id);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts exactly what encodeEventId produces, among one-character changes of valid ids', () => {
    const mutation = fc.record({
      at: fc.nat(),
      char: fc.constantFrom(...Array.from('0123456789ABCFaz,._:-')),
      kind: fc.constantFrom('replace', 'insert', 'delete'),
    });
    fc.assert(
      fc.property(cursorsArb(3843), mutation, (cursors, { at, char, kind }) => {
        const id = encodeEventId(cursors);
        const i = at % (id.length + 1);
        const mutated =
          kind === 'replace'
            ? id.slice(0, i) + char + id.slice(i + 1)
            : kind === 'insert'
              ? id.slice(0, i) + char + id.slice(i)
              : id.slice(0, i) + id.slice(i + 1);
        let decoded: Cursor[];
        try {
          decoded = decodeEventId(mutated);
        } catch (error) {
          expect((error as ProtocolError).code).toBe('INVALID_LAST_EVENT_ID');
          return;
        }
        expect(encodeEventId(decoded)).toBe(mutated);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('positionToStreamId and streamIdToPosition', () => {
  it('convert between positions and Redis stream ids', () => {
    expect(positionToStreamId({ ms: 1763800000000, seq: 5 })).toBe('1763800000000-5');
    expect(streamIdToPosition('1763800000000-5')).toEqual({ ms: 1763800000000, seq: 5 });
    expect(streamIdToPosition('0-0')).toEqual({ ms: 0, seq: 0 });
    expect(streamIdToPosition('9007199254740991-9007199254740991')).toEqual({
      ms: Number.MAX_SAFE_INTEGER,
      seq: Number.MAX_SAFE_INTEGER,
    });
  });

  it.each([
    '',
    '-',
    '+',
    '$',
    '*',
    '5',
    '5-',
    '-5',
    '01-1',
    '1-01',
    '1-2-3',
    ' 1-2',
    '1-2\n',
    'a-b',
    '1.5-2',
    '1e3-0',
    '9007199254740992-0',
    '0-18446744073709551615',
  ])('streamIdToPosition refuses %j', (id) => {
    expect(thrown(() => streamIdToPosition(id), 'INVALID_FIELD').message).toMatch(
      /is not "<ms>-<seq>"/,
    );
  });

  it.each([
    { ms: -1, seq: 0 },
    { ms: 0, seq: -1 },
    { ms: 1.5, seq: 0 },
    { ms: 0, seq: Number.NaN },
    { ms: 2 ** 53, seq: 0 },
  ])('positionToStreamId refuses %j', (p) => {
    thrown(() => positionToStreamId(p), 'INVALID_FIELD');
  });

  it('are inverses on every safe position', () => {
    fc.assert(
      fc.property(fc.record({ ms: fc.maxSafeNat(), seq: fc.maxSafeNat() }), (p) => {
        expect(streamIdToPosition(positionToStreamId(p))).toEqual(p);
      }),
    );
  });
});

describe('newEpoch', () => {
  it('returns 4 base62 characters', () => {
    for (let i = 0; i < 100; i++) expect(newEpoch()).toMatch(/^[0-9A-Za-z]{4}$/);
  });

  it('maps the random source onto the digits', () => {
    const values = [0, 0.5, 0.999999, 10 / 62];
    expect(newEpoch(() => values.shift() ?? 0)).toBe('0VzA');
    expect(newEpoch(() => 1 - Number.EPSILON / 2)).toBe('zzzz');
  });

  it('refuses a random source outside [0, 1)', () => {
    for (const bad of [1, -0.1, Number.NaN, 2]) {
      expect(thrown(() => newEpoch(() => bad), 'INVALID_FIELD').message).toMatch(
        /must return a number in \[0, 1\)/,
      );
    }
  });

  it('gives epochs that encode into ids', () => {
    const epoch = newEpoch();
    expect(decodeEventId(encodeEventId([one(epoch, 0, 1, 1)]))[0]?.epoch).toBe(epoch);
  });
});
