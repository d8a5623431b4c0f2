import { ProtocolError } from './errors.js';
import { quote } from './quote.js';
import { assertShardCount, shardOf } from './shard.js';
import { parseTopic } from './topic.js';

/**
 * Where a deployment's keys and channels live in Redis. Build it once from configuration; every
 * builder below checks it, so a bad value fails at the first use instead of writing stray keys.
 */
export interface KeySpace {
  /**
   * `REDIS_PREFIX`: 1 to 64 characters from `A-Z a-z 0-9 _ - .` (see {@link validatePrefix}).
   * @defaultValue `'ssehub'` (the configuration default, SPEC.md section 9)
   */
  readonly prefix: string;
  /**
   * `REDIS_SHARDS`: 1 to 16, fixed for the life of a deployment.
   * @defaultValue 1 (the configuration default)
   */
  readonly shardCount: number;
}

/** 1 to 64 characters from `A-Z a-z 0-9 _ - .`; no `{`, `}` (hash tags) or `:` (our separator). */
const PREFIX = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Checks a key prefix (`REDIS_PREFIX`): 1 to 64 characters from `A-Z a-z 0-9 _ - .`. Braces
 * would change the Redis Cluster hash tag, and `:` would let one deployment's prefix read as
 * another's key path.
 *
 * @returns `prefix`, unchanged.
 * @throws {@link ProtocolError} `INVALID_FIELD` for anything else.
 */
export function validatePrefix(prefix: string): string {
  if (!PREFIX.test(prefix)) {
    throw new ProtocolError(
      'INVALID_FIELD',
      `Redis prefix ${quote(prefix)} is not allowed; use 1 to 64 characters from A-Z a-z 0-9 _ - .`,
    );
  }
  return prefix;
}

function checkKeySpace(k: KeySpace): void {
  validatePrefix(k.prefix);
  assertShardCount(k.shardCount);
}

function checkShard(k: KeySpace, shard: number): void {
  if (!Number.isInteger(shard) || shard < 0 || shard >= k.shardCount) {
    throw new ProtocolError(
      'INVALID_FIELD',
      `Shard ${String(shard)} does not exist; with ${k.shardCount} shard(s) it is an integer from 0 to ${k.shardCount - 1}.`,
    );
  }
}

/** `<prefix>:{<prefix>:s<shard>}`: the start of every key and channel of a shard. */
function shardBase(k: KeySpace, shard: number): string {
  return `${k.prefix}:{${k.prefix}:s${shard}}`;
}

/**
 * The Redis Cluster hash tag of a shard, `{<prefix>:s<shard>}`. Every key and channel of the
 * shard contains it, so they hash to one slot and one Lua script can XADD and (S)PUBLISH
 * atomically (DESIGN.md "Shards, ids and history").
 *
 * @throws {@link ProtocolError} `INVALID_FIELD` for a bad prefix, shard count or shard.
 */
export function shardTag(k: KeySpace, shard: number): string {
  checkKeySpace(k);
  checkShard(k, shard);
  return `{${k.prefix}:s${shard}}`;
}

/**
 * The shard's meta hash, `<prefix>:{<prefix>:s<shard>}:meta`: protocol version, shard count,
 * epoch, past epochs and publisher settings (SPEC.md section 9).
 *
 * @throws {@link ProtocolError} `INVALID_FIELD` for a bad prefix, shard count or shard.
 */
export function metaKey(k: KeySpace, shard: number): string {
  checkKeySpace(k);
  checkShard(k, shard);
  return `${shardBase(k, shard)}:meta`;
}

/**
 * The shard's history stream, `<prefix>:{<prefix>:s<shard>}:log` (SPEC.md section 5).
 *
 * @throws {@link ProtocolError} `INVALID_FIELD` for a bad prefix, shard count or shard.
 */
export function streamKey(k: KeySpace, shard: number): string {
  checkKeySpace(k);
  checkShard(k, shard);
  return `${shardBase(k, shard)}:log`;
}

/**
 * The key remembering a publish's idempotency key, `<prefix>:{<prefix>:s<shard>}:idem:<key>`.
 * Keys are scoped to the topic's shard (SPEC.md section 7). The hash tag comes first, so braces
 * in `key` cannot move the key to another Cluster slot.
 *
 * @param key - The client's `Idempotency-Key`, not empty.
 * @throws {@link ProtocolError} `INVALID_FIELD` for a bad prefix, shard count, shard or an empty key.
 */
export function idempotencyKey(k: KeySpace, shard: number, key: string): string {
  checkKeySpace(k);
  checkShard(k, shard);
  if (key.length === 0)
    throw new ProtocolError('INVALID_FIELD', 'An idempotency key must not be empty.');
  return `${shardBase(k, shard)}:idem:${key}`;
}

/**
 * The channel for events on exactly `topic`, `<prefix>:{<prefix>:s<shard>}:t:<topic>`, on the
 * topic's shard (see `shardOf`). A replica subscribes to it for a wildcard-free pattern.
 *
 * @param topic - A valid topic (a leading `/` is dropped).
 * @throws {@link ProtocolError} `INVALID_TOPIC` for an invalid topic, `INVALID_FIELD` for a bad
 *   prefix or shard count.
 */
export function exactChannel(k: KeySpace, topic: string): string {
  checkKeySpace(k);
  const normalized = parseTopic(topic);
  return `${shardBase(k, shardOf(normalized, k.shardCount))}:t:${normalized}`;
}

/**
 * The channel for events on `topic` and all its descendants,
 * `<prefix>:{<prefix>:s<shard>}:sub:<topic>`. An event is published to the subtree channel of
 * itself and of each ancestor (DESIGN.md "Data path"); a replica subscribes to the one of a
 * pattern's literal prefix.
 *
 * @param topic - A valid topic (a leading `/` is dropped).
 * @throws {@link ProtocolError} `INVALID_TOPIC` for an invalid topic, `INVALID_FIELD` for a bad
 *   prefix or shard count.
 */
export function subtreeChannel(k: KeySpace, topic: string): string {
  checkKeySpace(k);
  const normalized = parseTopic(topic);
  return `${shardBase(k, shardOf(normalized, k.shardCount))}:sub:${normalized}`;
}

/**
 * The channel carrying every event of a shard, `<prefix>:{<prefix>:s<shard>}:all` (the root's
 * subtree). A replica subscribes to it, on every shard, for a pattern that starts with a wildcard
 * (SPEC.md section 9).
 *
 * @throws {@link ProtocolError} `INVALID_FIELD` for a bad prefix, shard count or shard.
 */
export function shardWildcardChannel(k: KeySpace, shard: number): string {
  checkKeySpace(k);
  checkShard(k, shard);
  return `${shardBase(k, shard)}:all`;
}

/**
 * The deployment-wide registry of live replicas, `<prefix>:replicas`, for cluster stats and
 * presence (SPEC.md section 10). Not tied to a shard, so it has no hash tag.
 *
 * @throws {@link ProtocolError} `INVALID_FIELD` for a bad prefix or shard count.
 */
export function replicasKey(k: KeySpace): string {
  checkKeySpace(k);
  return `${k.prefix}:replicas`;
}
