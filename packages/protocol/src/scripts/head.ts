/** `head.lua`: a shard's newest position (see the file's header). */
import { metaKey, streamKey, type KeySpace } from '../redis-keys.js';
import { HEAD_SCRIPT } from './generated.js';
import { ReplyReader } from './reply.js';
import type { NoMetaReply, Script } from './script.js';

/** Input of {@link headScript}. */
export interface HeadInput {
  /** The deployment's prefix and shard count. */
  readonly keys: KeySpace;
  /** The shard, 0-based. */
  readonly shard: number;
}

/** The shard's epoch and newest stream id. */
export interface HeadPosition {
  readonly kind: 'head';
  /** The shard's current epoch. */
  readonly epoch: string;
  /** The stream's last-generated-id, `0-0` when it is empty or absent. */
  readonly lastGeneratedId: string;
}

/** Reply of {@link headScript}. */
export type HeadReply = HeadPosition | NoMetaReply;

/** Reads a shard's newest position. */
export const headScript: Script<HeadInput, HeadReply> = {
  name: 'head',
  source: HEAD_SCRIPT,
  call({ keys, shard }) {
    return { keys: [metaKey(keys, shard), streamKey(keys, shard)], args: [] };
  },
  parse(reply) {
    const r = new ReplyReader('head', "{ epoch, lastGeneratedId } or { 'nometa' }", reply);
    const items = r.array(1);
    if (items[0] === 'nometa' && items.length === 1) return { kind: 'nometa' };
    if (items.length !== 2) throw r.fail();
    return { kind: 'head', epoch: r.string(items, 0), lastGeneratedId: r.string(items, 1) };
  },
};
