/**
 * Base62 digits in value order: `'0'`=0 … `'9'`=9, `'A'`=10 … `'Z'`=35, `'a'`=36 … `'z'`=61.
 * Event ids use base62 because every digit is in SPEC.md's id character set and it packs a
 * millisecond timestamp into 7 characters (DESIGN.md "Shards, ids and history").
 *
 * @internal
 */
export const BASE62_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Radix of {@link BASE62_DIGITS}. @internal */
export const BASE62 = 62;

/**
 * Value of one base62 digit, or -1 for any other character.
 *
 * @internal
 */
export function base62DigitValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30; // 0-9
  if (code >= 0x41 && code <= 0x5a) return code - 0x41 + 10; // A-Z
  if (code >= 0x61 && code <= 0x7a) return code - 0x61 + 36; // a-z
  return -1;
}

/**
 * Base62 text of a non-negative safe integer, without leading zeros (`0` is `'0'`), left-padded
 * with `'0'` to `width` characters.
 *
 * @internal
 */
export function encodeBase62(value: number, width = 1): string {
  let out = '';
  let rest = value;
  do {
    out = BASE62_DIGITS.charAt(rest % BASE62) + out;
    rest = Math.floor(rest / BASE62);
  } while (rest > 0);
  return out.padStart(width, '0');
}

/**
 * Value of `text[start, end)` read as base62, or `undefined` when it holds a non-digit or the
 * value is above `Number.MAX_SAFE_INTEGER` (it would no longer be exact).
 *
 * @internal
 */
export function decodeBase62(text: string, start: number, end: number): number | undefined {
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = base62DigitValue(text.charCodeAt(i));
    if (digit < 0) return undefined;
    value = value * BASE62 + digit;
    // While the true result is a safe integer the arithmetic above is exact, and once it is not,
    // rounding cannot bring it back to MAX_SAFE_INTEGER or below (2^53 - 1 is representable).
    if (value > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return value;
}
