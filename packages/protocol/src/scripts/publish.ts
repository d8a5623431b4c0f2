/** `publish.lua`: store and relay a batch on one shard (see the file's header). */
import { idempotencyKey, metaKey, shardTag, streamKey, type KeySpace } from '../redis-keys.js';
import { PUBLISH_SCRIPT } from './generated.js';
import { ReplyReader } from './reply.js';
import type { NoMetaReply, Script } from './script.js';

/** One event of a {@link PublishInput}, already validated. */
export interface PublishEvent {
  /** The topic, normalized. */
  readonly topic: string;
  /** The SSE event name. @defaultValue none ('' in the stream) */
  readonly event?: string | undefined;
  /** The data, as sent. */
  readonly data: string;
  /** The caller's idempotency key. @defaultValue none */
  readonly idempotencyKey?: string | undefined;
}

/** Input of {@link publishScript}. */
export interface PublishInput {
  /** The deployment's prefix and shard count. */
  readonly keys: KeySpace;
  /** The shard every event's topic maps to, 0-based. */
  readonly shard: number;
  /** True on Redis Cluster: relay with SPUBLISH (sharded pub/sub) instead of PUBLISH. */
  readonly sharded: boolean;
  /** The events, in order. */
  readonly events: readonly PublishEvent[];
}

/** The batch was stored (or found stored, for repeated idempotency keys). */
export interface PublishStored {
  readonly kind: 'stored';
  /** The shard's epoch. */
  readonly epoch: string;
  /** How many events this call added to the stream (repeats are not). */
  readonly stored: number;
  /** One stream id per event, in order. */
  readonly streamIds: readonly string[];
}

/** An idempotency key already holds other content; nothing was stored. */
export interface PublishConflict {
  readonly kind: 'conflict';
  /** The Redis key of the idempotency key (see {@link conflictingKey}). */
  readonly key: string;
}

/** Reply of {@link publishScript}. */
export type PublishReply = PublishStored | PublishConflict | NoMetaReply;

const EXPECTED = "{ epoch, stored count, id... }, { 'conflict', key } or { 'nometa' }";

/** Stores and relays a batch of events on one shard. */
export const publishScript: Script<PublishInput, PublishReply> = {
  name: 'publish',
  source: PUBLISH_SCRIPT,
  call({ keys, shard, sharded, events }) {
    const scriptKeys = [metaKey(keys, shard), streamKey(keys, shard)];
    const args = [
      `${keys.prefix}:${shardTag(keys, shard)}:`,
      sharded ? 'SPUBLISH' : 'PUBLISH',
      String(events.length),
    ];
    for (const e of events) {
      if (e.idempotencyKey !== undefined) {
        scriptKeys.push(idempotencyKey(keys, shard, e.idempotencyKey));
      }
      args.push(e.topic, e.event ?? '', e.data, e.idempotencyKey === undefined ? '' : '1');
    }
    return { keys: scriptKeys, args };
  },
  parse(reply) {
    const r = new ReplyReader('publish', EXPECTED, reply);
    const items = r.array(1);
    if (items[0] === 'nometa') return { kind: 'nometa' };
    if (items[0] === 'conflict') return { kind: 'conflict', key: r.string(items, 1) };
    return {
      kind: 'stored',
      epoch: r.string(items, 0),
      stored: r.integer(items, 1),
      streamIds: r.strings(items, 2),
    };
  },
};

/**
 * The caller's idempotency key behind a conflict's Redis key, or undefined when no event of
 * the call has it.
 */
export function conflictingKey(input: PublishInput, redisKey: string): string | undefined {
  return input.events.find(
    (e) =>
      e.idempotencyKey !== undefined &&
      idempotencyKey(input.keys, input.shard, e.idempotencyKey) === redisKey,
  )?.idempotencyKey;
}
