/** Code units at which UTF-8 switches from one to two, and from two to three, bytes. */
const ONE_BYTE_LIMIT = 0x80;
const TWO_BYTE_LIMIT = 0x800;
const HIGH_SURROGATE_MIN = 0xd800;
const HIGH_SURROGATE_MAX = 0xdbff;
const LOW_SURROGATE_MIN = 0xdc00;
const LOW_SURROGATE_MAX = 0xdfff;

/**
 * Number of bytes `new TextEncoder().encode(s)` would produce, computed without allocating the
 * encoded copy: it runs once per published event against `MAX_EVENT_BYTES` (SPEC.md section 4),
 * where data can be 64 KiB and more.
 *
 * Like `TextEncoder`, a lone surrogate counts as U+FFFD (3 bytes), and a surrogate pair as one
 * 4-byte code point.
 *
 * @param s - Any JavaScript string.
 * @returns The UTF-8 length in bytes.
 */
export function utf8ByteLength(s: string): number {
  const length = s.length;
  let bytes = length;
  for (let i = 0; i < length; i++) {
    const unit = s.charCodeAt(i);
    if (unit < ONE_BYTE_LIMIT) continue;
    if (unit < TWO_BYTE_LIMIT) {
      bytes += 1;
      continue;
    }
    if (unit >= HIGH_SURROGATE_MIN && unit <= HIGH_SURROGATE_MAX && i + 1 < length) {
      const next = s.charCodeAt(i + 1);
      if (next >= LOW_SURROGATE_MIN && next <= LOW_SURROGATE_MAX) {
        // Two code units, four bytes: two more than already counted.
        bytes += 2;
        i++;
        continue;
      }
    }
    // The rest of the BMP, and lone surrogates (encoded as U+FFFD): three bytes.
    bytes += 2;
  }
  return bytes;
}
