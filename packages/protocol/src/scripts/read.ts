/** `read.lua`: a page of a shard's history after a cursor (see the file's header). */
import { positionToStreamId, type StreamPosition } from '../event-id.js';
import { metaKey, streamKey, type KeySpace } from '../redis-keys.js';
import { READ_SCRIPT } from './generated.js';
import { ReplyReader } from './reply.js';
import type { NoMetaReply, Script } from './script.js';

/** Input of {@link readScript}. */
export interface ReadInput {
  /** The deployment's prefix and shard count. */
  readonly keys: KeySpace;
  /** The shard, 0-based. */
  readonly shard: number;
  /** Read after this position of this epoch, or from the earliest entry kept. */
  readonly after: 'earliest' | { readonly epoch: string; readonly position: StreamPosition };
  /** Most entries in the page. */
  readonly limit: number;
  /** The deployment's `HISTORY_TTL_MS`: older entries are trimmed before reading, in ms. */
  readonly historyTtlMs: number;
}

/** One history entry as the publish script stored it. */
export interface ReadEntry {
  /** Its stream id (its position). */
  readonly id: string;
  /** The topic, normalized. */
  readonly topic: string;
  /** The SSE event name, '' for none. */
  readonly event: string;
  /** The data, as published. */
  readonly data: string;
}

/** The cursor is in history: the entries after it (possibly none). */
export interface ReadOk {
  readonly kind: 'ok';
  /** The shard's current epoch. */
  readonly epoch: string;
  /** The stream's last-generated-id (`0-0` for none). */
  readonly lastGeneratedId: string;
  readonly entries: readonly ReadEntry[];
}

/** The cursor cannot be resumed from: trimmed away, never issued, or of a lost epoch. */
export interface ReadRefused {
  /** `trimmed`: older than the history kept; `unknown`: never issued; `lost`: a past epoch. */
  readonly kind: 'trimmed' | 'unknown' | 'lost';
  /** The shard's current epoch. */
  readonly epoch: string;
  /** The stream's last-generated-id (`0-0` for none). */
  readonly lastGeneratedId: string;
}

/** Reply of {@link readScript}. */
export type ReadReply = ReadOk | ReadRefused | NoMetaReply;

const EXPECTED =
  "{ 'ok', epoch, lastGeneratedId, [id, topic, event, data]... }, { 'trimmed' | 'unknown' | 'lost', epoch, lastGeneratedId } or { 'nometa' }";

/** Reads a page of a shard's history after a cursor. */
export const readScript: Script<ReadInput, ReadReply> = {
  name: 'read',
  source: READ_SCRIPT,
  call({ keys, shard, after, limit, historyTtlMs }) {
    return {
      keys: [metaKey(keys, shard), streamKey(keys, shard)],
      args: [
        after === 'earliest' ? '' : after.epoch,
        after === 'earliest' ? '' : positionToStreamId(after.position),
        String(limit),
        String(historyTtlMs),
      ],
    };
  },
  parse(reply) {
    const r = new ReplyReader('read', EXPECTED, reply);
    const items = r.array(1);
    const kind = items[0];
    if (kind === 'nometa') return { kind };
    if (kind !== 'ok' && kind !== 'trimmed' && kind !== 'unknown' && kind !== 'lost') {
      throw r.fail();
    }
    const epoch = r.string(items, 1);
    const lastGeneratedId = r.string(items, 2);
    if (kind !== 'ok') {
      if (items.length !== 3) throw r.fail();
      return { kind, epoch, lastGeneratedId };
    }
    const fields = r.strings(items, 3);
    if (fields.length % 4 !== 0) throw r.fail();
    const entries: ReadEntry[] = [];
    for (let i = 0; i < fields.length; i += 4) {
      const [id = '', topic = '', event = '', data = ''] = fields.slice(i, i + 4);
      entries.push({ id, topic, event, data });
    }
    return { kind, epoch, lastGeneratedId, entries };
  },
};
