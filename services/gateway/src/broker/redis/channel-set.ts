/**
 * Which Redis channels bring a pattern's events to this replica (DESIGN.md "Why not PSUBSCRIBE
 * per pattern"): exact channels are a hash lookup for Redis, glob patterns a scan per publish.
 * - a pattern without wildcards: the exact channel of that topic;
 * - a pattern with a wildcard-free prefix (`a/**`, `a/*\/c`): the subtree channel of the prefix,
 *   and the local matcher filters;
 * - a pattern starting with a wildcard: every shard's wildcard channel.
 */
import {
  exactChannel,
  literalPrefix,
  shardWildcardChannel,
  subtreeChannel,
  type KeySpace,
  type Pattern,
} from '@ssehub/protocol';

export function channelsFor(keys: KeySpace, pattern: Pattern): string[] {
  if (!pattern.hasWildcard) return [exactChannel(keys, pattern.source)];
  const prefix = literalPrefix(pattern);
  if (prefix !== undefined) return [subtreeChannel(keys, prefix)];
  return Array.from({ length: keys.shardCount }, (_, shard) => shardWildcardChannel(keys, shard));
}
