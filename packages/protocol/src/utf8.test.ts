import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8ByteLength } from './utf8.js';

const encoder = new TextEncoder();

describe('utf8ByteLength', () => {
  it.each([
    ['', 0],
    ['a', 1],
    ['\u007f', 1],
    ['\u0080', 2],
    ['é', 2],
    ['\u07ff', 2],
    ['\u0800', 3],
    ['€', 3],
    ['\uffff', 3],
    ['😀', 4],
    ['\ud800', 3], // lone high surrogate: U+FFFD
    ['\udc00', 3], // lone low surrogate
    ['\udc00\ud800', 6], // reversed pair: two lone surrogates
    ['a\ud800', 4], // high surrogate at the end
    ['😀😀a', 9],
  ])('of %j is %i', (s, expected) => {
    expect(utf8ByteLength(s)).toBe(expected);
    expect(encoder.encode(s).length).toBe(expected);
  });

  it('equals the TextEncoder length for any string of code points', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        expect(utf8ByteLength(s)).toBe(encoder.encode(s).length);
      }),
      { numRuns: 300 },
    );
  });

  it('equals the TextEncoder length for any sequence of UTF-16 code units, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 100 }), (units) => {
        const s = String.fromCharCode(...units);
        expect(utf8ByteLength(s)).toBe(encoder.encode(s).length);
      }),
      { numRuns: 1000 },
    );
  });
});
