import { describe, expect, it } from 'vitest';
import { quote } from './quote.js';

describe('quote', () => {
  it('JSON-quotes short values', () => {
    expect(quote('a b')).toBe('"a b"');
    expect(quote('')).toBe('""');
    expect(quote('a"b\n')).toBe('"a\\"b\\n"');
  });

  it('cuts values longer than 40 characters', () => {
    expect(quote('x'.repeat(40))).toBe(`"${'x'.repeat(40)}"`);
    expect(quote('x'.repeat(41))).toBe(`"${'x'.repeat(40)}…"`);
    expect(quote('y'.repeat(1_000_000)).length).toBe(43);
  });
});
