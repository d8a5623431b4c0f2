import { ProtocolError } from './errors.js';
import { MAX_SHARDS } from './event-id.js';
import { parseTopic } from './topic.js';

/** FNV-1a 32-bit offset basis and prime (http://www.isthe.com/chongo/tech/comp/fnv/). */
const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a 32-bit hash of the character codes of `text[0, end)`, as an unsigned integer. Callers
 * pass ASCII text, whose character codes are its UTF-8 bytes.
 *
 * @internal
 */
export function fnv1a32(text: string, end: number = text.length): number {
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < end; i++) {
    hash ^= text.charCodeAt(i);
    // Math.imul keeps the multiplication in 32 bits, as the algorithm requires.
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/**
 * Checks a shard count: an integer from 1 to {@link MAX_SHARDS} (`REDIS_SHARDS`, SPEC.md
 * section 9).
 *
 * @internal
 */
export function assertShardCount(shardCount: number): void {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > MAX_SHARDS) {
    throw new ProtocolError(
      'INVALID_FIELD',
      `Shard count ${String(shardCount)} is not allowed; REDIS_SHARDS is an integer from 1 to ${MAX_SHARDS}.`,
    );
  }
}

/**
 * The shard that owns `topic`: FNV-1a 32-bit of the topic's first segment (its UTF-8 bytes, which
 * for the ASCII topic grammar are its characters) modulo `shardCount`. Deterministic across
 * processes and languages, so the gateway, the publisher SDK and any other client agree.
 *
 * Only the first segment is hashed so that a whole subtree (`pets`, `pets/dogs`, …) lives on one
 * shard: a `pets/**` subscription then reads one history stream and one set of channels, and
 * events of one subtree keep their order (SPEC.md section 5).
 *
 * @param topic - A valid topic (a leading `/` is dropped).
 * @param shardCount - `REDIS_SHARDS`, 1 to {@link MAX_SHARDS}; with 1 the answer is always 0.
 * @returns An integer from 0 to `shardCount - 1`.
 * @throws {@link ProtocolError} `INVALID_TOPIC` for an invalid topic, `INVALID_FIELD` for a
 *   shard count outside 1 to {@link MAX_SHARDS}.
 */
export function shardOf(topic: string, shardCount: number): number {
  assertShardCount(shardCount);
  const normalized = parseTopic(topic);
  if (shardCount === 1) return 0;
  const slash = normalized.indexOf('/');
  return fnv1a32(normalized, slash < 0 ? normalized.length : slash) % shardCount;
}
