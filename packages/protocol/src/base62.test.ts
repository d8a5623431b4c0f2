import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BASE62, BASE62_DIGITS, base62DigitValue, decodeBase62, encodeBase62 } from './base62.js';

describe('base62', () => {
  it('orders digits 0-9, then A-Z, then a-z', () => {
    expect(BASE62).toBe(62);
    expect(BASE62_DIGITS).toHaveLength(62);
    expect(Array.from(BASE62_DIGITS).map((c) => base62DigitValue(c.charCodeAt(0)))).toEqual(
      Array.from({ length: 62 }, (_, i) => i),
    );
    expect(BASE62_DIGITS.charAt(10)).toBe('A');
    expect(BASE62_DIGITS.charAt(36)).toBe('a');
  });

  it.each(['/', ':', '@', '[', '`', '{', '.', '-', '_', ',', ' ', 'é'])('gives -1 for %j', (c) => {
    expect(base62DigitValue(c.charCodeAt(0))).toBe(-1);
  });

  it.each([
    [0, 1, '0'],
    [61, 1, 'z'],
    [62, 1, '10'],
    [3843, 1, 'zz'],
    [0, 7, '0000000'],
    [1763800000000, 7, 'V3GX3Am'],
    [62 ** 7 - 1, 7, 'zzzzzzz'],
  ])('encodes %d (width %d) as %j', (value, width, text) => {
    expect(encodeBase62(value, width)).toBe(text);
    expect(decodeBase62(text, 0, text.length)).toBe(value);
  });

  it('decodes a slice and refuses non-digits', () => {
    expect(decodeBase62('xx10yy', 2, 4)).toBe(62);
    expect(decodeBase62('1-0', 0, 3)).toBeUndefined();
    expect(decodeBase62('', 0, 0)).toBe(0);
  });

  it('decodes MAX_SAFE_INTEGER and refuses the next value', () => {
    const max = encodeBase62(Number.MAX_SAFE_INTEGER);
    expect(max).toBe('fFgnDxSe7');
    expect(decodeBase62(max, 0, max.length)).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeBase62('fFgnDxSe8', 0, 9)).toBeUndefined();
    expect(decodeBase62('zzzzzzzzz', 0, 9)).toBeUndefined();
    expect(decodeBase62('z'.repeat(200), 0, 200)).toBeUndefined();
  });

  it('round-trips every safe integer, without leading zeros', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        const text = encodeBase62(n);
        expect(text === '0' || !text.startsWith('0')).toBe(true);
        expect(decodeBase62(text, 0, text.length)).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });

  it('preserves order between fixed-width encodings', () => {
    fc.assert(
      fc.property(fc.nat({ max: 62 ** 7 - 1 }), fc.nat({ max: 62 ** 7 - 1 }), (a, b) => {
        const x = encodeBase62(a, 7);
        const y = encodeBase62(b, 7);
        expect(x).toHaveLength(7);
        expect(Math.sign(a - b)).toBe(x < y ? -1 : x > y ? 1 : 0);
      }),
    );
  });
});
