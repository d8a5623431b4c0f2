import { BASE62, BASE62_DIGITS, base62DigitValue, decodeBase62, encodeBase62 } from './base62.js';
import { ProtocolError } from './errors.js';
import { quote } from './quote.js';

/**
 * Most shards a deployment can have (`REDIS_SHARDS`, SPEC.md section 9). Fixed so that an id
 * holding one cursor per shard stays within {@link MAX_EVENT_ID_LENGTH}.
 */
export const MAX_SHARDS = 16;

/** Longest event id, in characters (SPEC.md section 4). */
export const MAX_EVENT_ID_LENGTH = 256;

/**
 * Length of an epoch, in base62 characters: 62^4 ≈ 14.8 million values, so a new epoch after a
 * data loss (DESIGN.md "Shards, ids and history") is very unlikely to repeat an old one.
 */
export const EPOCH_LENGTH = 4;

/**
 * A position in one shard's history: a Redis stream id `<ms>-<seq>`. Ordered by `ms`, then
 * `seq`. Both are non-negative safe integers.
 */
export interface StreamPosition {
  /** Milliseconds part of the stream id (Unix time at which Redis added the entry). */
  readonly ms: number;
  /** Sequence part of the stream id: entries added within the same millisecond. */
  readonly seq: number;
}

/** A position in one shard's history within one epoch of that shard (one entry of an event id). */
export interface Cursor {
  /** The shard's epoch: exactly {@link EPOCH_LENGTH} base62 characters. */
  readonly epoch: string;
  /** The shard, 0 to {@link MAX_SHARDS} - 1. */
  readonly shard: number;
  /** The last event of the shard this cursor has seen. */
  readonly position: StreamPosition;
}

/** Characters of an id (SPEC.md section 4). */
const EVENT_ID = /^[0-9A-Za-z._,:-]{1,256}$/;
const STREAM_ID = /^(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$/;
const EPOCH = /^[0-9A-Za-z]{4}$/;
const BASE62_TEXT = /^[0-9A-Za-z]+$/;

/** Width of the millisecond part of an id entry, in base62 characters. */
const MS_WIDTH = 7;
/**
 * First millisecond value that no longer fits {@link MS_WIDTH} characters: 62^7 ms is about
 * 3.5e12, in the year 2081. {@link encodeEventId} refuses positions at or above it.
 *
 * @internal
 */
export const MS_LIMIT = BASE62 ** MS_WIDTH;
/** Entry layout: epoch, then one shard digit, then the fixed-width ms, then seq. */
const SHARD_OFFSET = EPOCH_LENGTH;
const MS_OFFSET = SHARD_OFFSET + 1;
const SEQ_OFFSET = MS_OFFSET + MS_WIDTH;
/** Shortest entry: epoch, shard, ms and a one-character seq. */
const MIN_ENTRY_LENGTH = SEQ_OFFSET + 1;

/**
 * Orders two stream positions as Redis does: by `ms`, then by `seq`.
 *
 * @returns -1 when `a` is before `b`, 0 when equal, 1 when after.
 */
export function comparePositions(a: StreamPosition, b: StreamPosition): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

/**
 * Whether `id` has the shape SPEC.md section 4 allows for any ssehub id: 1 to
 * {@link MAX_EVENT_ID_LENGTH} characters from `0-9 A-Z a-z . _ , : -`. This says nothing about
 * whether {@link decodeEventId} can decode it.
 */
export function isWellFormedEventId(id: string): boolean {
  return EVENT_ID.test(id);
}

function invalidField(message: string): ProtocolError {
  return new ProtocolError('INVALID_FIELD', message);
}

function assertPosition(p: StreamPosition, what: string): void {
  if (!Number.isSafeInteger(p.ms) || p.ms < 0 || !Number.isSafeInteger(p.seq) || p.seq < 0) {
    throw invalidField(
      `${what} ${String(p.ms)}-${String(p.seq)} is not a stream position; ms and seq must be non-negative safe integers.`,
    );
  }
}

function encodeEntry(cursor: Cursor): string {
  const { epoch, shard, position } = cursor;
  if (!EPOCH.test(epoch)) {
    throw invalidField(
      `Cursor epoch ${quote(epoch)} must be exactly ${EPOCH_LENGTH} characters from 0-9 A-Z a-z.`,
    );
  }
  if (!Number.isInteger(shard) || shard < 0 || shard >= MAX_SHARDS) {
    throw invalidField(
      `Cursor shard ${String(shard)} must be an integer from 0 to ${MAX_SHARDS - 1}.`,
    );
  }
  assertPosition(position, 'Cursor position');
  if (position.ms >= MS_LIMIT) {
    throw invalidField(
      `Cursor position ms ${position.ms} does not fit the id format, which holds milliseconds below ${MS_LIMIT} (the year 2081).`,
    );
  }
  return (
    epoch + encodeBase62(shard) + encodeBase62(position.ms, MS_WIDTH) + encodeBase62(position.seq)
  );
}

/**
 * Encodes cursors as an event id (SPEC.md section 4, DESIGN.md "Shards, ids and history").
 *
 * Each cursor becomes one entry of base62 characters: the epoch (4), the shard (1), the
 * position's ms (7, zero-padded) and its seq (1 or more, no leading zeros). Entries are sorted by
 * shard and joined by `,`. Epoch `aB3x`, shard 0, position `1763800000000-5` gives
 * `aB3x0V3GX3Am5` (13 characters); 16 shards with seq below 3844 (two digits) take at most 239.
 *
 * @param cursors - 1 to {@link MAX_SHARDS} cursors with distinct shards, in any order.
 * @returns The id; decoding it gives the cursors back, sorted by shard.
 * @throws {@link ProtocolError} `INVALID_FIELD` when a cursor is malformed (epoch, shard, ms at or
 *   above 62^7, negative or unsafe numbers), the shards repeat, there are no or too many cursors,
 *   or the id would exceed {@link MAX_EVENT_ID_LENGTH} characters (very large seq values on many
 *   shards).
 */
export function encodeEventId(cursors: readonly Cursor[]): string {
  if (cursors.length === 0 || cursors.length > MAX_SHARDS) {
    throw invalidField(`An event id holds 1 to ${MAX_SHARDS} cursors; got ${cursors.length}.`);
  }
  const sorted = cursors.length === 1 ? cursors : [...cursors].sort((x, y) => x.shard - y.shard);
  let id = '';
  let previousShard = -1;
  for (const cursor of sorted) {
    const entry = encodeEntry(cursor);
    if (cursor.shard === previousShard) {
      throw invalidField(
        `An event id holds one cursor per shard; shard ${cursor.shard} appears twice.`,
      );
    }
    previousShard = cursor.shard;
    id = id === '' ? entry : `${id},${entry}`;
  }
  if (id.length > MAX_EVENT_ID_LENGTH) {
    throw invalidField(
      `These cursors encode to a ${id.length}-character event id; the limit is ${MAX_EVENT_ID_LENGTH}.`,
    );
  }
  return id;
}

function invalidId(id: string, why: string): ProtocolError {
  return new ProtocolError(
    'INVALID_LAST_EVENT_ID',
    `Event id ${quote(id)} was not issued by ssehub: ${why}`,
  );
}

function decodeEntry(id: string, entry: string): Cursor {
  if (entry.length < MIN_ENTRY_LENGTH) {
    throw invalidId(id, `each comma-separated part has at least ${MIN_ENTRY_LENGTH} characters.`);
  }
  if (!BASE62_TEXT.test(entry)) {
    throw invalidId(id, 'each comma-separated part uses only the characters 0-9 A-Z a-z.');
  }
  const shard = base62DigitValue(entry.charCodeAt(SHARD_OFFSET));
  if (shard >= MAX_SHARDS) throw invalidId(id, `shard numbers go from 0 to ${MAX_SHARDS - 1}.`);
  // Seven base62 digits are always below 62^7, a safe integer; only seq can overflow.
  const ms = decodeBase62(entry, MS_OFFSET, SEQ_OFFSET);
  const seq = decodeBase62(entry, SEQ_OFFSET, entry.length);
  if (ms === undefined || seq === undefined) {
    throw invalidId(id, 'positions are at most Number.MAX_SAFE_INTEGER.');
  }
  // encodeBase62 never writes leading zeros, so "05" cannot come from encodeEventId; refusing it
  // keeps exactly one spelling per cursor, so equal ids mean equal cursors.
  if (
    entry.length > MIN_ENTRY_LENGTH &&
    entry.charCodeAt(SEQ_OFFSET) === BASE62_DIGITS.charCodeAt(0)
  ) {
    throw invalidId(id, 'sequence numbers have no leading zeros.');
  }
  return { epoch: entry.slice(0, SHARD_OFFSET), shard, position: { ms, seq } };
}

/**
 * Decodes an event id written by {@link encodeEventId} back into its cursors, sorted by shard.
 * Exactly the ids `encodeEventId` can produce are accepted, so `encodeEventId(decodeEventId(id))`
 * is `id`. Whether the cursors name positions that exist in this deployment is the broker's
 * question, not this function's.
 *
 * @param id - A `Last-Event-ID` header or `lastEventId` query value.
 * @throws {@link ProtocolError} `INVALID_LAST_EVENT_ID` for anything else: the empty string,
 *   `earliest` (a query keyword the caller handles first), characters or length outside SPEC.md's
 *   id rule, empty parts (`a,,b`, a trailing `,`), wrong entry shapes, shard 16 or above, shards
 *   not strictly increasing, leading zeros in seq, numbers above `Number.MAX_SAFE_INTEGER`, or
 *   more than {@link MAX_SHARDS} entries.
 */
export function decodeEventId(id: string): Cursor[] {
  if (!isWellFormedEventId(id)) {
    throw invalidId(
      id,
      `ids are 1 to ${MAX_EVENT_ID_LENGTH} characters from 0-9 A-Z a-z . _ , : -.`,
    );
  }
  const entries = id.split(',');
  if (entries.length > MAX_SHARDS) {
    throw invalidId(id, `an id holds at most ${MAX_SHARDS} comma-separated parts.`);
  }
  const cursors: Cursor[] = [];
  let previousShard = -1;
  for (const entry of entries) {
    const cursor = decodeEntry(id, entry);
    if (cursor.shard <= previousShard)
      throw invalidId(id, 'shards appear once each, in increasing order.');
    previousShard = cursor.shard;
    cursors.push(cursor);
  }
  return cursors;
}

/**
 * Formats a position as a Redis stream id: `{ ms: 1763800000000, seq: 5 }` gives
 * `'1763800000000-5'`.
 *
 * @throws {@link ProtocolError} `INVALID_FIELD` when `ms` or `seq` is not a non-negative safe integer.
 */
export function positionToStreamId(p: StreamPosition): string {
  assertPosition(p, 'Stream position');
  return `${p.ms}-${p.seq}`;
}

/**
 * Parses a Redis stream id `<ms>-<seq>` (decimal, no leading zeros, as Redis writes them).
 * Inverse of {@link positionToStreamId}.
 *
 * @throws {@link ProtocolError} `INVALID_FIELD` for anything else, including the shorthand forms
 *   Redis accepts as input (`1763800000000`, `-`, `+`, `$`) and values above
 *   `Number.MAX_SAFE_INTEGER` (Redis allows 64-bit values; JavaScript numbers would round them).
 */
export function streamIdToPosition(id: string): StreamPosition {
  const match = STREAM_ID.exec(id);
  const ms = match?.[1] === undefined ? Number.NaN : Number(match[1]);
  const seq = match?.[2] === undefined ? Number.NaN : Number(match[2]);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) {
    throw invalidField(
      `Stream id ${quote(id)} is not "<ms>-<seq>" with two decimal safe integers and no leading zeros.`,
    );
  }
  return { ms, seq };
}

/**
 * A new random epoch: {@link EPOCH_LENGTH} base62 characters. Created with a shard's meta hash
 * and again after a data loss, so ids from before cannot be read as positions after it.
 *
 * @param random - Source of numbers in [0, 1). Default `Math.random`; pass
 *   `() => crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32` where a stronger source is
 *   available, or a fixed sequence in tests.
 * @throws {@link ProtocolError} `INVALID_FIELD` when `random` returns a value outside [0, 1).
 */
export function newEpoch(random: () => number = Math.random): string {
  let epoch = '';
  for (let i = 0; i < EPOCH_LENGTH; i++) {
    const r = random();
    if (!(r >= 0 && r < 1)) {
      throw invalidField(
        `newEpoch's random() returned ${String(r)}; it must return a number in [0, 1).`,
      );
    }
    // min() guards against r * 62 rounding up to 62 for r just below 1.
    epoch += BASE62_DIGITS.charAt(Math.min(BASE62 - 1, Math.floor(r * BASE62)));
  }
  return epoch;
}
