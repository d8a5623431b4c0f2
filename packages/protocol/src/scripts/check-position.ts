/** `check-position.lua`: is the relay's last position still in history (see the file's header). */
import { positionToStreamId, type StreamPosition } from '../event-id.js';
import { metaKey, streamKey, type KeySpace } from '../redis-keys.js';
import { CHECK_POSITION_SCRIPT } from './generated.js';
import { ReplyReader } from './reply.js';
import type { NoMetaReply, Script } from './script.js';

/** Input of {@link checkPositionScript}. */
export interface CheckPositionInput {
  /** The deployment's prefix and shard count. */
  readonly keys: KeySpace;
  /** The shard, 0-based. */
  readonly shard: number;
  /** The epoch the relay knew. */
  readonly epoch: string;
  /** The position it saw last (`{ ms: 0, seq: 0 }` when it saw none). */
  readonly position: StreamPosition;
}

/** Reply of {@link checkPositionScript}: the verdict on the position (see check-position.lua). */
export type CheckPositionReply =
  | {
      readonly kind: 'ok';
      /** The stream's newest id: backfill up to it. */
      readonly lastGeneratedId: string;
    }
  | { readonly kind: 'trimmed' }
  | { readonly kind: 'backwards' }
  | {
      readonly kind: 'epoch';
      /** The shard's epoch now. */
      readonly current: string;
    }
  | NoMetaReply;

const EXPECTED =
  "{ 'ok', lastGeneratedId }, { 'trimmed' }, { 'backwards' }, { 'epoch', current } or { 'nometa' }";

/** Checks a relay's last-seen position against a shard's history. */
export const checkPositionScript: Script<CheckPositionInput, CheckPositionReply> = {
  name: 'check-position',
  source: CHECK_POSITION_SCRIPT,
  call({ keys, shard, epoch, position }) {
    return {
      keys: [metaKey(keys, shard), streamKey(keys, shard)],
      args: [epoch, positionToStreamId(position)],
    };
  },
  parse(reply) {
    const r = new ReplyReader('check-position', EXPECTED, reply);
    const items = r.array(1);
    const kind = items[0];
    switch (kind) {
      case 'ok':
        return { kind, lastGeneratedId: r.string(items, 1) };
      case 'epoch':
        return { kind, current: r.string(items, 1) };
      case 'trimmed':
      case 'backwards':
      case 'nometa':
        return { kind };
      default:
        throw r.fail();
    }
  },
};
