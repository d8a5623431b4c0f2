import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEnvelope, type Envelope } from './envelope.js';
import { ProtocolError } from './errors.js';

describe('encodeEnvelope', () => {
  it('writes the SPEC.md section 4 example byte for byte', () => {
    expect(
      encodeEnvelope({
        topic: 'pets/dogs',
        event: 'new-dog',
        data: 'Corgi',
        publishedAt: 1763800000000,
      }),
    ).toBe('{"topic":"pets/dogs","event":"new-dog","data":"Corgi","publishedAt":1763800000000}');
  });

  it('leaves out event for unnamed events', () => {
    expect(encodeEnvelope({ topic: 't', data: '', publishedAt: 0 })).toBe(
      '{"topic":"t","data":"","publishedAt":0}',
    );
    expect(encodeEnvelope({ topic: 't', event: undefined, data: 'x', publishedAt: 1 })).toBe(
      '{"topic":"t","data":"x","publishedAt":1}',
    );
  });

  it('ignores extra properties of the object it is given', () => {
    const richer = { topic: 't', data: 'd', publishedAt: 5, shard: 3, id: 'x' };
    expect(encodeEnvelope(richer)).toBe('{"topic":"t","data":"d","publishedAt":5}');
  });

  it('escapes line breaks so the envelope is one data line', () => {
    const line = encodeEnvelope({ topic: 't', data: 'a\r\nb\rc\nd', publishedAt: 1 });
    expect(line).not.toMatch(/[\r\n]/);
    expect(line).toBe('{"topic":"t","data":"a\\r\\nb\\rc\\nd","publishedAt":1}');
  });

  it.each([Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, 2 ** 53])(
    'refuses publishedAt %d',
    (publishedAt) => {
      expect(() => encodeEnvelope({ topic: 't', data: '', publishedAt })).toThrow(ProtocolError);
      try {
        encodeEnvelope({ topic: 't', data: '', publishedAt });
      } catch (error) {
        expect((error as ProtocolError).code).toBe('INVALID_FIELD');
      }
    },
  );

  it('round-trips through JSON.parse with keys in contract order, on one line', () => {
    const envelopeArb: fc.Arbitrary<Envelope> = fc.record(
      {
        topic: fc.string({ unit: 'grapheme' }),
        event: fc.string(),
        data: fc.string({ unit: 'binary' }),
        publishedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      },
      { requiredKeys: ['topic', 'data', 'publishedAt'] },
    );
    fc.assert(
      fc.property(envelopeArb, (e) => {
        const json = encodeEnvelope(e);
        expect(json).not.toMatch(/[\r\n]/);
        const parsed = JSON.parse(json) as Record<string, unknown>;
        const expectedKeys =
          e.event === undefined
            ? ['topic', 'data', 'publishedAt']
            : ['topic', 'event', 'data', 'publishedAt'];
        expect(Object.keys(parsed)).toEqual(expectedKeys);
        expect(parsed).toEqual(
          e.event === undefined ? { topic: e.topic, data: e.data, publishedAt: e.publishedAt } : e,
        );
        expect(json).toBe(JSON.stringify(parsed));
      }),
      { numRuns: 200 },
    );
  });
});
