/** `bump-epoch.lua`: retire the epoch a caller saw (see the file's header). */
import { metaKey, type KeySpace } from '../redis-keys.js';
import { BUMP_EPOCH_SCRIPT } from './generated.js';
import { ReplyReader } from './reply.js';
import type { Script } from './script.js';

/** Input of {@link bumpEpochScript}. */
export interface BumpEpochInput {
  /** The deployment's prefix and shard count. */
  readonly keys: KeySpace;
  /** The shard, 0-based. */
  readonly shard: number;
  /** The epoch to retire: only retired while it is still the current one. */
  readonly seen: string;
  /** The epoch that replaces it (`newEpoch()`). */
  readonly next: string;
}

/** Reply of {@link bumpEpochScript}. */
export interface BumpEpochReply {
  readonly kind: 'epoch';
  /** The shard's epoch after the call, or null when the meta hash is missing. */
  readonly current: string | null;
}

/** Retires an epoch, once, however many callers saw it. */
export const bumpEpochScript: Script<BumpEpochInput, BumpEpochReply> = {
  name: 'bump-epoch',
  source: BUMP_EPOCH_SCRIPT,
  call({ keys, shard, seen, next }) {
    return { keys: [metaKey(keys, shard)], args: [seen, next] };
  },
  parse(reply) {
    const r = new ReplyReader('bump-epoch', 'the current epoch or nil', reply);
    return { kind: 'epoch', current: r.nullableString() };
  },
};
